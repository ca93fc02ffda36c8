"""Operators and assignment over HTTP (API.md, "Operators and assignment"): accounts, "get
next", and the monitoring views of seed 004."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import msgspec
import structlog
from aiohttp import web

from actors.accounts import create_operator, new_token
from actors.conversation.messages import Caller, Release
from actors.desk.desk import Next
from gateway.access import operator_only
from gateway.auth import principal_of, requires
from gateway.context import gateway_of
from gateway.errors import ApiError
from gateway.jsonio import json_response, read_json
from gateway.outcomes import outcome_response
from gateway.paging import int_param
from gateway.views import operator_stats, operator_status, with_fields
from storage.rows import OperatorChange
from storage.store import EmailTaken
from storage.views import OperatorView

log = structlog.get_logger("operators")


class OperatorBody(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    email: str
    role: Literal["agent", "supervisor", "admin"] = "agent"


@requires("admin")
async def create(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    body = await read_json(request, OperatorBody)
    name, email = body.name.strip(), body.email.strip().lower()
    if not name or len(name) > 100:
        raise ApiError(400, "invalid_body", "name must be 1 to 100 characters", "name")
    if "@" not in email or len(email) > 254 or " " in email:
        raise ApiError(400, "invalid_body", "email is not an e-mail address", "email")
    try:
        operator, token = await create_operator(
            gw.runtime.store, name=name, email=email, role=body.role, now=gw.runtime.clock.now()
        )
    except EmailTaken:
        raise ApiError(409, "email_taken", f"an operator with {email} exists", "email") from None
    log.info("operator_created", operator_id=operator.id, role=operator.role)
    return json_response({"operator": operator, "token": token}, status=201)


class OperatorPatch(msgspec.Struct, forbid_unknown_fields=True):
    active: bool | None = None
    role: Literal["agent", "supervisor", "admin"] | None = None
    name: str | None = None


async def _operator_or_404(request: web.Request) -> OperatorView:
    operator_id = request.match_info["id"]
    found = await gateway_of(request).runtime.store.operator(operator_id)
    if found is None:
        raise ApiError(404, "not_found", f"no operator {operator_id}", "id")
    return found


@requires("admin")
async def patch(request: web.Request) -> web.Response:
    """Rename, change the role, deactivate or reactivate; a deactivated operator's token is
    refused from its next request."""
    gw = gateway_of(request)
    operator = await _operator_or_404(request)
    body = await read_json(request, OperatorPatch)
    name = None if body.name is None else body.name.strip()
    if name is not None and not 0 < len(name) <= 100:
        raise ApiError(400, "invalid_body", "name must be 1 to 100 characters", "name")
    change = OperatorChange(operator.id, name=name, role=body.role, active=body.active)
    await gw.runtime.store.change_operator(change)
    # a deactivation or a new role closes the operator's open feeds (a rename does not)
    revoke = body.active is False or body.role not in (None, operator.role)
    gw.auth.forget(operator.id, revoke=revoke)
    log.info("operator_changed", operator_id=operator.id, role=body.role, active=body.active)
    if body.active is False:
        await _release_chats_of(request, operator.id)
    return json_response(await _operator_or_404(request))


async def _release_chats_of(request: web.Request, operator_id: str) -> None:
    """A deactivated operator's chats go back to the queue (it can no longer answer them)."""
    runtime = gateway_of(request).runtime
    by = Caller(principal_of(request).id, may_override=True)
    for session in await runtime.store.sessions_held_by(operator_id):
        await runtime.ask(session.conversation_id, Release(session.id, by, "operator_deactivated"))


@requires("admin")
async def rotate_token(request: web.Request) -> web.Response:
    """A new token, shown once; the old one stops working at once."""
    gw = gateway_of(request)
    operator = await _operator_or_404(request)
    token = await new_token(gw.runtime.store, operator.id)
    gw.auth.forget(operator.id)
    log.info("operator_token_rotated", operator_id=operator.id)
    return json_response({"operator": operator, "token": token})


@requires("supervisor")
async def list_operators(request: web.Request) -> web.Response:
    store = gateway_of(request).runtime.store
    holding: dict[str, list[str]] = {}
    for session in await store.open_sessions():
        if session.agent_id:
            holding.setdefault(session.agent_id, []).append(session.id)
    items = [operator_status(op, holding.get(op.id, [])) for op in await store.operators()]
    return json_response({"items": items, "total": len(items)})


@requires("agent")
async def next_chat(request: web.Request) -> web.Response:
    principal = principal_of(request)
    operator_only(principal)
    outcome = await gateway_of(request).runtime.ask_desk(Next(principal.id))
    if outcome is None:
        return web.Response(status=204)
    return outcome_response(outcome, principal)


@requires("supervisor")
async def chat_states(request: web.Request) -> web.Response:
    return json_response(await gateway_of(request).runtime.store.chat_state_counts())


@requires("supervisor")
async def queue(request: web.Request) -> web.Response:
    runtime = gateway_of(request).runtime
    store = runtime.store
    now = runtime.clock.now()
    waits = [(now - s.state_since).total_seconds() for s in await store.waiting_sessions()]
    busy = {s.agent_id for s in await store.open_sessions() if s.agent_id}
    staff = [op for op in await store.operators() if op.active and op.role != "admin"]
    return json_response(
        {
            "waiting": len(waits),
            "oldest_wait_seconds": round(max(waits), 3) if waits else 0,
            "avg_wait_seconds": round(sum(waits) / len(waits), 3) if waits else 0,
            "operators_busy": len(busy),
            "operators_free": sum(1 for op in staff if op.id not in busy),
        }
    )


@requires("supervisor")
async def stuck(request: web.Request) -> web.Response:
    runtime = gateway_of(request).runtime
    hours = int_param(request, "hours", 1, 0, 24 * 365)
    now = runtime.clock.now()
    found = await runtime.store.stuck_sessions(now - timedelta(hours=hours))
    items = [
        with_fields(s, in_state_seconds=round((now - s.state_since).total_seconds(), 3))
        for s in found
    ]
    return json_response({"items": items, "total": len(items), "hours": hours})


@requires("supervisor")
async def monitor_operators(request: web.Request) -> web.Response:
    runtime = gateway_of(request).runtime
    hours = int_param(request, "hours", 24, 1, 24 * 365)
    since = runtime.clock.now() - timedelta(hours=hours)
    names = {op.id: op.name for op in await runtime.store.operators()}
    items = [
        operator_stats(row, names.get(row.operator_id))
        for row in await runtime.store.operator_stats(since)
    ]
    return json_response({"items": items, "total": len(items), "hours": hours})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/operators", create)
    app.router.add_get("/api/operators", list_operators)
    app.router.add_patch("/api/operators/{id}", patch)
    app.router.add_post("/api/operators/{id}/token", rotate_token)
    app.router.add_post("/api/operator/next", next_chat)
    app.router.add_get("/api/monitor/chat-states", chat_states)
    app.router.add_get("/api/monitor/queue", queue)
    app.router.add_get("/api/monitor/stuck", stuck)
    app.router.add_get("/api/monitor/operators", monitor_operators)
