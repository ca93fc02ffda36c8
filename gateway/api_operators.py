"""Operators and assignment over HTTP (API.md, "Operators and assignment"): accounts, "get
next", and the monitoring views of seed 004."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import msgspec
from aiohttp import web

from actors.accounts import EmailTaken, create_operator
from actors.desk.desk import Next
from gateway.access import operator_only
from gateway.auth import principal_of, requires
from gateway.context import gateway_of
from gateway.errors import ApiError
from gateway.jsonio import json_response, read_json
from gateway.outcomes import outcome_response, session_view
from gateway.paging import int_param
from storage import operators
from storage import sessions as session_store
from storage.timefmt import iso, parse_iso


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
            gw.runtime.writer, name=name, email=email, role=body.role, now=gw.runtime.clock.now()
        )
    except EmailTaken:
        raise ApiError(409, "email_taken", f"an operator with {email} exists", "email") from None
    return json_response({"operator": msgspec.structs.asdict(operator), "token": token}, status=201)


@requires("supervisor")
async def list_operators(request: web.Request) -> web.Response:
    reader = gateway_of(request).runtime.reader
    holding: dict[str, list[str]] = {}
    for row in await session_store.open_sessions(reader):
        if row["agent_id"]:
            holding.setdefault(row["agent_id"], []).append(row["id"])
    items = []
    for op in await operators.all_operators(reader):
        chats = holding.get(op["id"], [])
        items.append(
            {
                **op,
                "active": bool(op["active"]),
                "current_chats": chats,
                "current_chat": chats[0] if chats else None,
                "state": "busy" if chats else "free",
            }
        )
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
    return json_response(await session_store.chat_state_counts(gateway_of(request).runtime.reader))


@requires("supervisor")
async def queue(request: web.Request) -> web.Response:
    runtime = gateway_of(request).runtime
    now = runtime.clock.now()
    waiting = await session_store.waiting(runtime.reader)
    waits = [(now - parse_iso(r["state_since"])).total_seconds() for r in waiting]
    busy = {
        r["agent_id"] for r in await session_store.open_sessions(runtime.reader) if r["agent_id"]
    }
    staff = [
        op
        for op in await operators.all_operators(runtime.reader)
        if op["active"] and op["role"] in ("agent", "supervisor")
    ]
    return json_response(
        {
            "waiting": len(waiting),
            "oldest_wait_seconds": round(max(waits), 3) if waits else 0,
            "avg_wait_seconds": round(sum(waits) / len(waits), 3) if waits else 0,
            "operators_busy": len(busy),
            "operators_free": sum(1 for op in staff if op["id"] not in busy),
        }
    )


@requires("supervisor")
async def stuck(request: web.Request) -> web.Response:
    runtime = gateway_of(request).runtime
    hours = int_param(request, "hours", 1, 0, 24 * 365)
    before = iso(runtime.clock.now() - timedelta(hours=hours))
    rows = await session_store.stuck(runtime.reader, before)
    now = runtime.clock.now()
    items = [
        {
            **session_view(r),
            "in_state_seconds": round((now - parse_iso(r["state_since"])).total_seconds(), 3),
        }
        for r in rows
    ]
    return json_response({"items": items, "total": len(items), "hours": hours})


@requires("supervisor")
async def operator_stats(request: web.Request) -> web.Response:
    runtime = gateway_of(request).runtime
    hours = int_param(request, "hours", 24, 1, 24 * 365)
    since = iso(runtime.clock.now() - timedelta(hours=hours))
    names = {op["id"]: op["name"] for op in await operators.all_operators(runtime.reader)}
    items = []
    for row in await session_store.operator_stats(runtime.reader, since):
        items.append(
            {
                "operator_id": row["operator_id"],
                "name": names.get(row["operator_id"]),
                "total_assignments": row["total_assignments"],
                "completed": row["completed"],
                "active": row["active"],
                "replied": row["replied"],
                "avg_response_seconds": _round(row["avg_response_seconds"]),
                "max_response_seconds": _round(row["max_response_seconds"]),
            }
        )
    return json_response({"items": items, "total": len(items), "hours": hours})


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/operators", create)
    app.router.add_get("/api/operators", list_operators)
    app.router.add_post("/api/operator/next", next_chat)
    app.router.add_get("/api/monitor/chat-states", chat_states)
    app.router.add_get("/api/monitor/queue", queue)
    app.router.add_get("/api/monitor/stuck", stuck)
    app.router.add_get("/api/monitor/operators", operator_stats)
