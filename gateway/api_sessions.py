"""Live-agent sessions over HTTP (API.md, "Sessions"). Reads come from the store's session
projection; every change goes to the session's conversation actor (or to the desk, for
assignment), which checks it against the state."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import msgspec
from aiohttp import web

from actors.conversation.messages import (
    AgentReply,
    Caller,
    EndSession,
    Identity,
    Release,
    StartSession,
)
from actors.desk.desk import AssignTo
from gateway.access import operator_only
from gateway.auth import Principal, at_least, principal_of, requires
from gateway.context import gateway_of
from gateway.errors import ApiError
from gateway.jsonio import json_response, read_json
from gateway.lookups import session_or_404
from gateway.outcomes import outcome_response
from gateway.paging import int_param, page, paging
from gateway.views import session_detail
from storage.views import SessionFilter

PHONE = re.compile(r"^\+?[0-9]{6,20}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
STATUSES = ("waiting", "active", "ended")


class AssignBody(msgspec.Struct, forbid_unknown_fields=True):
    agent_id: str | None = None


class ReasonBody(msgspec.Struct, forbid_unknown_fields=True):
    reason: str | None = None


class MessageBody(msgspec.Struct, forbid_unknown_fields=True):
    text: str


def caller(principal: Principal) -> Caller:
    return Caller(principal.id, may_override=at_least(principal, "supervisor"))


@requires("supervisor")
async def start(request: web.Request) -> web.Response:
    """Open a waiting session for any phone, on a customer's behalf: a supervisor's act (and
    a flow's, inside the core), not an agent's, who would otherwise learn by it which phones
    are customers and open chats nobody asked for."""
    gw = gateway_of(request)
    runtime = gw.runtime
    phone = request.match_info["phone_number"]
    if not PHONE.match(phone):
        raise ApiError(400, "invalid_phone", "a phone number is 6-20 digits", "phone_number")
    phone = phone.lstrip("+")
    business = gw.settings.whatsapp.phone_number_id or "default"
    who = Identity(business_id=business, customer_id=phone, phone=phone)
    cid = runtime.resolver.for_phone(business, phone)
    outcome = await runtime.ask(cid, StartSession(who=who, started_by="api"))
    return outcome_response(outcome, principal_of(request), status=201)


@requires("agent")
async def waiting(request: web.Request) -> web.Response:
    found = await gateway_of(request).runtime.store.waiting_sessions()
    return json_response({"items": found, "total": len(found)})


@requires("agent")
async def my_chats(request: web.Request) -> web.Response:
    principal = principal_of(request)
    agent_id = request.match_info["agent_id"]
    if agent_id != principal.id and not at_least(principal, "supervisor"):
        raise ApiError(403, "forbidden", "an agent may ask only for its own chats", "agent_id")
    found = await gateway_of(request).runtime.store.sessions_held_by(agent_id)
    return json_response({"items": found, "total": len(found)})


@requires("supervisor")
async def all_open(request: web.Request) -> web.Response:
    found = await gateway_of(request).runtime.store.open_sessions()
    return json_response({"items": found, "total": len(found)})


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


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _after(day: date) -> datetime | None:
    """The instant the day ends (None for the last day there is: no bound)."""
    return None if day == date.max else _midnight(day + timedelta(days=1))


@requires("agent")
async def history(request: web.Request) -> web.Response:
    principal = principal_of(request)
    limit, offset = paging(request)
    q = request.query
    status = q.get("status") or None
    if status not in (None, *STATUSES):
        raise ApiError(400, "invalid_query", "status is waiting, active or ended", "status")
    start_day, end_day = _day(request, "start_date"), _day(request, "end_date")
    supervisor = at_least(principal, "supervisor")
    where = SessionFilter(
        # agents see the history of their own sessions only, and of those what they may read
        # now (access.may_see): not a chat they handed over that another operator has now
        agent_id=q.get("agent_id") or None if supervisor else principal.id,
        readable_by=None if supervisor else principal.id,
        status=status,  # type: ignore[arg-type]
        search=q.get("search") or None,
        # inclusive days, on started_at
        started_from=None if start_day is None else _midnight(start_day),
        started_before=None if end_day is None else _after(end_day),
    )
    found, total = await gateway_of(request).runtime.store.session_history(where, limit, offset)
    return json_response(page(found, total, limit, offset))


@requires("agent")
async def get_session(request: web.Request) -> web.Response:
    """The session with its assignments and the customer's 24-hour window as it stands now
    (`window_open`), so that a dashboard can say so before an agent writes."""
    session = await session_or_404(request)
    runtime = gateway_of(request).runtime
    assignments = await runtime.store.assignments(session.id)
    now = runtime.clock.now()
    conversation = await runtime.store.conversation(session.conversation_id, now)
    window = None if conversation is None else conversation.window_expires_at
    return json_response(session_detail(session, assignments, window, now))


@requires("agent")
async def context(request: web.Request) -> web.Response:
    """What the customer and the bot said before the session started (the last `limit`,
    oldest first): the agent reads it before answering."""
    session = await session_or_404(request)
    limit = int_param(request, "limit", 50, 1, 500)
    found = await gateway_of(request).runtime.store.messages_before(
        session.conversation_id, session.started_at, limit
    )
    return json_response({"items": found, "total": len(found)})


@requires("agent")
async def assign(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    principal = principal_of(request)
    session = await session_or_404(request, visible=False)
    body = await read_json(request, AssignBody)
    agent_id = body.agent_id or principal.id
    if agent_id == principal.id:
        operator_only(principal)
    else:
        if not at_least(principal, "supervisor"):
            raise ApiError(
                403, "forbidden", "an agent may accept chats only for itself", "agent_id"
            )
        if await gw.runtime.store.operator(agent_id) is None:
            raise ApiError(404, "not_found", f"no operator {agent_id}", "agent_id")
    outcome = await gw.runtime.ask_desk(AssignTo(session.id, agent_id, caller(principal)))
    return outcome_response(outcome, principal)


@requires("agent")
async def release(request: web.Request) -> web.Response:
    session = await session_or_404(request, visible=False)
    principal = principal_of(request)
    body = await read_json(request, ReasonBody)
    reason = (body.reason or "manual")[:200]
    outcome = await gateway_of(request).runtime.ask(
        session.conversation_id, Release(session.id, caller(principal), reason)
    )
    return outcome_response(outcome, principal)


@requires("agent")
async def end(request: web.Request) -> web.Response:
    session = await session_or_404(request, visible=False)
    principal = principal_of(request)
    await read_json(request, ReasonBody)
    outcome = await gateway_of(request).runtime.ask(
        session.conversation_id, EndSession(session.id, caller(principal))
    )
    return outcome_response(outcome, principal)


@requires("agent")
async def list_messages(request: web.Request) -> web.Response:
    session = await session_or_404(request)
    found = await gateway_of(request).runtime.store.session_messages(session.id)
    return json_response({"items": found, "total": len(found)})


@requires("agent")
async def send_message(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    session = await session_or_404(request, visible=False)
    body = await read_json(request, MessageBody)
    text = body.text.strip()
    if not text or len(text) > 4096:
        raise ApiError(400, "invalid_body", "text must be 1 to 4096 characters", "text")
    principal = principal_of(request)
    outcome = await gw.runtime.ask(
        session.conversation_id, AgentReply(session.id, caller(principal), text)
    )
    if not outcome.ok:
        return outcome_response(outcome, principal)
    return json_response(outcome.sent, status=201)


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
    app.router.add_get(f"{base}/{{id}}/context", context)
    app.router.add_post(f"{base}/{{id}}/messages", send_message)
