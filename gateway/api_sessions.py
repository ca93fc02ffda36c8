"""Live-agent sessions over HTTP (API.md, "Sessions"). Reads come from `agent_sessions`;
every change goes to the session's conversation actor (or the desk, for assignment)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import msgspec
from aiohttp import web

from actors.conversation.keys import conversation_id
from actors.conversation.messages import AgentReply, EndSession, Identity, Release, StartSession
from actors.desk.desk import AssignTo
from gateway.access import operator_only
from gateway.auth import at_least, principal_of, requires
from gateway.context import gateway_of
from gateway.errors import ApiError
from gateway.jsonio import json_response, read_json
from gateway.lookups import session_or_404
from gateway.outcomes import outcome_response, session_view
from gateway.paging import page, paging
from gateway.views import message_view
from storage import conversations, messages, operators
from storage import sessions as session_store

PHONE = re.compile(r"^\+?[0-9]{6,20}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class AssignBody(msgspec.Struct, forbid_unknown_fields=True):
    agent_id: str | None = None


class ReasonBody(msgspec.Struct, forbid_unknown_fields=True):
    reason: str | None = None


class MessageBody(msgspec.Struct, forbid_unknown_fields=True):
    text: str


@requires("agent")
async def start(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    phone = request.match_info["phone_number"]
    if not PHONE.match(phone):
        raise ApiError(400, "invalid_phone", "a phone number is 6-20 digits", "phone_number")
    phone = phone.lstrip("+")
    found, _ = await conversations.search(gw.runtime.reader, {"phone": phone}, 1, 0)
    if found:
        cid = found[0]["id"]
        who = None
    else:
        business = gw.settings.whatsapp.phone_number_id or "default"
        who = Identity(business_id=business, customer_id=phone, phone=phone)
        cid = conversation_id(business, phone)
    outcome = await gw.runtime.ask(cid, StartSession(who=who, started_by="api"))
    return outcome_response(outcome, principal_of(request), status=201)


@requires("agent")
async def waiting(request: web.Request) -> web.Response:
    rows = await session_store.waiting(gateway_of(request).runtime.reader)
    return json_response({"items": [session_view(r) for r in rows], "total": len(rows)})


@requires("agent")
async def my_chats(request: web.Request) -> web.Response:
    principal = principal_of(request)
    agent_id = request.match_info["agent_id"]
    if agent_id != principal.id and not at_least(principal, "supervisor"):
        raise ApiError(403, "forbidden", "an agent may ask only for its own chats", "agent_id")
    rows = await session_store.held_by(gateway_of(request).runtime.reader, agent_id)
    return json_response({"items": [session_view(r) for r in rows], "total": len(rows)})


@requires("supervisor")
async def all_open(request: web.Request) -> web.Response:
    rows = await session_store.open_sessions(gateway_of(request).runtime.reader)
    return json_response({"items": [session_view(r) for r in rows], "total": len(rows)})


def _day(request: web.Request, name: str) -> date | None:
    value = request.query.get(name)
    if not value:
        return None
    try:
        if not DATE.match(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, "invalid_query", f"{name} is a date, YYYY-MM-DD", name) from None


@requires("agent")
async def history(request: web.Request) -> web.Response:
    principal = principal_of(request)
    limit, offset = paging(request)
    q = request.query
    filters: dict[str, Any] = {k: q[k] for k in ("agent_id", "status", "search") if q.get(k)}
    if filters.get("status") not in (None, "waiting", "active", "ended"):
        raise ApiError(400, "invalid_query", "status is waiting, active or ended", "status")
    start_day, end_day = _day(request, "start_date"), _day(request, "end_date")
    if start_day is not None:  # inclusive days, on started_at
        filters["started_from"] = f"{start_day}T00:00:00.000000Z"
    if end_day is not None:
        filters["started_before"] = f"{end_day + timedelta(days=1)}T00:00:00.000000Z"
    if not at_least(principal, "supervisor"):
        filters["agent_id"] = principal.id
    rows, total = await session_store.history(
        gateway_of(request).runtime.reader, filters, limit, offset
    )
    return json_response(page([session_view(r) for r in rows], total, limit, offset))


@requires("agent")
async def get_session(request: web.Request) -> web.Response:
    row = await session_or_404(request)
    body = session_view(row)
    body["assignments"] = await session_store.assignments_of(
        gateway_of(request).runtime.reader, row["id"]
    )
    return json_response(body)


@requires("agent")
async def assign(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    principal = principal_of(request)
    row = await session_or_404(request, visible=False)
    body = await read_json(request, AssignBody)
    agent_id = body.agent_id or principal.id
    if agent_id == principal.id:
        operator_only(principal)
    else:
        if not at_least(principal, "supervisor"):
            raise ApiError(
                403, "forbidden", "an agent may accept chats only for itself", "agent_id"
            )
        if await operators.get(gw.runtime.reader, agent_id) is None:
            raise ApiError(404, "not_found", f"no operator {agent_id}", "agent_id")
    if row["status"] == "ended":
        raise ApiError(409, "session_ended", "the session has ended")
    outcome = await gw.runtime.ask_desk(AssignTo(row["id"], agent_id))
    return outcome_response(outcome, principal)


@requires("agent")
async def release(request: web.Request) -> web.Response:
    row = await session_or_404(request, visible=False)
    principal = principal_of(request)
    body = await read_json(request, ReasonBody)
    if row["agent_id"] != principal.id and not at_least(principal, "supervisor"):
        raise ApiError(409, "not_held", "the session is not held by you")
    reason = (body.reason or "manual")[:200]
    outcome = await gateway_of(request).runtime.ask(
        row["conversation_id"], Release(row["id"], reason)
    )
    return outcome_response(outcome, principal)


@requires("agent")
async def end(request: web.Request) -> web.Response:
    row = await session_or_404(request, visible=False)
    principal = principal_of(request)
    await read_json(request, ReasonBody)
    if row["status"] == "ended":
        raise ApiError(409, "session_ended", "the session has already ended")
    holder = row["agent_id"] == principal.id

    supervisor = at_least(principal, "supervisor")
    if not (holder or supervisor):
        raise ApiError(409, "not_held", "the session is not held by you")
    reason = "supervisor" if supervisor and not holder else "agent"
    outcome = await gateway_of(request).runtime.ask(
        row["conversation_id"],
        EndSession(row["id"], reason),  # type: ignore[arg-type]
    )
    return outcome_response(outcome, principal)


@requires("agent")
async def list_messages(request: web.Request) -> web.Response:
    row = await session_or_404(request)
    rows = await messages.for_session(gateway_of(request).runtime.reader, row["id"])
    items = [message_view(r) for r in rows]
    return json_response({"items": items, "total": len(items)})


@requires("agent")
async def send_message(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    row = await session_or_404(request, visible=False)
    body = await read_json(request, MessageBody)
    text = body.text.strip()
    if not text or len(text) > 4096:
        raise ApiError(400, "invalid_body", "text must be 1 to 4096 characters", "text")
    principal = principal_of(request)
    outcome = await gw.runtime.ask(
        row["conversation_id"],
        AgentReply(row["id"], principal.id, text, may_override=at_least(principal, "supervisor")),
    )
    if not outcome.ok:
        return outcome_response(outcome, principal)
    message = await messages.get(gw.runtime.reader, outcome.message_id)
    return json_response(message_view(message), status=201)


def add_routes(app: web.Application) -> None:
    base = "/api/agent/sessions"
    app.router.add_post(f"{base}/start/{{phone_number}}", start)
    app.router.add_get(f"{base}/waiting", waiting)
    app.router.add_get(f"{base}/my-chats/{{agent_id}}", my_chats)
    app.router.add_get(f"{base}/all", all_open)
    app.router.add_get(f"{base}/history", history)
    app.router.add_get(f"{base}/{{id}}", get_session)
    app.router.add_post(f"{base}/{{id}}/assign", assign)
    app.router.add_post(f"{base}/{{id}}/release", release)
    app.router.add_post(f"{base}/{{id}}/end", end)
    app.router.add_get(f"{base}/{{id}}/messages", list_messages)
    app.router.add_post(f"{base}/{{id}}/messages", send_message)
