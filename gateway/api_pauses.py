"""The pause rows of API.md (seed 000's DatabaseManager methods, over HTTP): is-paused and
info, create, remove, list, cleanup. Reads come from the pause projection; changes go
through the conversation's actor."""

from __future__ import annotations

import asyncio

import msgspec
from aiohttp import web

from actors.conversation.messages import PauseRequest, ResumeRequest, Wake
from gateway.auth import principal_of, requires
from gateway.context import gateway_of
from gateway.errors import ApiError
from gateway.jsonio import json_response, read_json
from gateway.lookups import conversation_or_404
from gateway.paging import page, paging
from gateway.views import pause_answer

MAX_HOURS = 24 * 365


class PauseBody(msgspec.Struct, forbid_unknown_fields=True):
    hours: float


@requires("supervisor")
async def get_pause(request: web.Request) -> web.Response:
    conversation = await conversation_or_404(request)
    return json_response(pause_answer(conversation.id, conversation.pause))


@requires("supervisor")
async def put_pause(request: web.Request) -> web.Response:
    conversation = await conversation_or_404(request)
    body = await read_json(request, PauseBody)
    if not 0 < body.hours <= MAX_HOURS:
        raise ApiError(
            400, "invalid_body", f"hours must be more than 0 and at most {MAX_HOURS}", "hours"
        )
    runtime = gateway_of(request).runtime
    pause = await runtime.ask(conversation.id, PauseRequest(body.hours, principal_of(request).id))
    return json_response(pause_answer(conversation.id, pause))


@requires("supervisor")
async def delete_pause(request: web.Request) -> web.Response:
    conversation = await conversation_or_404(request)
    runtime = gateway_of(request).runtime
    removed = await runtime.ask(conversation.id, ResumeRequest(principal_of(request).id))
    return json_response(pause_answer(conversation.id, None, removed=bool(removed)))


@requires("supervisor")
async def list_pauses(request: web.Request) -> web.Response:
    runtime = gateway_of(request).runtime
    limit, offset = paging(request)
    found, total = await runtime.store.active_pauses(runtime.clock.now(), limit, offset)
    return json_response(page(found, total, limit, offset))


@requires("admin")
async def cleanup_pauses(request: web.Request) -> web.Response:
    """Clear pauses that ran out but are still marked active (their timer had not yet run,
    say right after a restart): each conversation handles its own expiry."""
    runtime = gateway_of(request).runtime
    ids = await runtime.store.expired_pauses(runtime.clock.now())
    await asyncio.gather(*(runtime.ask(cid, Wake()) for cid in ids))
    still = set(await runtime.store.expired_pauses(runtime.clock.now()))
    return json_response({"removed": sum(1 for cid in ids if cid not in still)})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/conversations/{id}/pause", get_pause)
    app.router.add_put("/api/conversations/{id}/pause", put_pause)
    app.router.add_delete("/api/conversations/{id}/pause", delete_pause)
    app.router.add_get("/api/pauses", list_pauses)
    app.router.add_post("/api/pauses/cleanup", cleanup_pauses)
