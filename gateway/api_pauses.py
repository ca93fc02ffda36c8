"""The pause rows of API.md (seed 000's DatabaseManager methods, over HTTP): is-paused and
info, create, remove, list, cleanup. Changes go through the conversation's actor."""

from __future__ import annotations

import asyncio

import msgspec
from aiohttp import web

from actors.conversation.messages import PauseRequest, ResumeRequest, Wake
from actors.conversation.state import decode_state
from gateway.auth import principal_of, requires
from gateway.context import gateway_of
from gateway.errors import ApiError
from gateway.jsonio import json_response, read_json
from gateway.lookups import conversation_or_404
from gateway.paging import page, paging
from gateway.views import pause_row_view, pause_view
from storage import pauses
from storage.timefmt import iso

MAX_HOURS = 24 * 365


class PauseBody(msgspec.Struct, forbid_unknown_fields=True):
    hours: float


@requires("supervisor")
async def get_pause(request: web.Request) -> web.Response:
    row = await conversation_or_404(request)
    now = gateway_of(request).runtime.clock.now()
    state = decode_state(bytes(row["snapshot"]))
    return json_response({"conversation_id": row["id"], **pause_view(state.pause, now)})


@requires("supervisor")
async def put_pause(request: web.Request) -> web.Response:
    row = await conversation_or_404(request)
    body = await read_json(request, PauseBody)
    if not 0 < body.hours <= MAX_HOURS:
        raise ApiError(
            400, "invalid_body", f"hours must be more than 0 and at most {MAX_HOURS}", "hours"
        )
    gw = gateway_of(request)
    pause = await gw.runtime.ask(row["id"], PauseRequest(body.hours, principal_of(request).id))
    return json_response(
        {"conversation_id": row["id"], **pause_view(pause, gw.runtime.clock.now())}
    )


@requires("supervisor")
async def delete_pause(request: web.Request) -> web.Response:
    row = await conversation_or_404(request)
    gw = gateway_of(request)
    removed = await gw.runtime.ask(row["id"], ResumeRequest(principal_of(request).id))
    return json_response(
        {
            "conversation_id": row["id"],
            "removed": bool(removed),
            **pause_view(None, gw.runtime.clock.now()),
        }
    )


@requires("supervisor")
async def list_pauses(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    limit, offset = paging(request)
    now = gw.runtime.clock.now()
    rows, total = await pauses.active(gw.runtime.reader, iso(now), limit, offset)
    return json_response(page([pause_row_view(r, now) for r in rows], total, limit, offset))


@requires("admin")
async def cleanup_pauses(request: web.Request) -> web.Response:
    """Clear pauses that ran out but are still marked active (their timer had not yet run,
    say right after a restart): each conversation handles its own expiry."""
    gw = gateway_of(request)
    runtime = gw.runtime
    ids = await pauses.expired_active(runtime.reader, iso(runtime.clock.now()))
    await asyncio.gather(*(runtime.ask(cid, Wake()) for cid in ids))
    still = set(await pauses.expired_active(runtime.reader, iso(runtime.clock.now())))
    return json_response({"removed": sum(1 for cid in ids if cid not in still)})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/conversations/{id}/pause", get_pause)
    app.router.add_put("/api/conversations/{id}/pause", put_pause)
    app.router.add_delete("/api/conversations/{id}/pause", delete_pause)
    app.router.add_get("/api/pauses", list_pauses)
    app.router.add_post("/api/pauses/cleanup", cleanup_pauses)
