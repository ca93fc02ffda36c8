"""The conversation or session a request names, or the 404 (and the 403 for a session the
caller may not read)."""

from __future__ import annotations

from aiohttp import web

from gateway.access import may_see
from gateway.auth import principal_of
from gateway.context import gateway_of
from gateway.errors import ApiError
from storage.views import ConversationView, SessionView


async def conversation_or_404(request: web.Request) -> ConversationView:
    runtime = gateway_of(request).runtime
    conversation_id = request.match_info["id"]
    found = await runtime.store.conversation(conversation_id, runtime.clock.now())
    if found is None:
        raise ApiError(404, "not_found", f"no conversation {conversation_id}", "id")
    return found


async def session_or_404(request: web.Request, *, visible: bool = True) -> SessionView:
    session_id = request.match_info["id"]
    session = await gateway_of(request).runtime.store.session(session_id)
    if session is None:
        raise ApiError(404, "not_found", f"no session {session_id}", "id")
    if visible and not await may_read(request, session):
        raise ApiError(403, "forbidden", "agents see only their own sessions and waiting ones")
    return session


async def may_read(request: web.Request, session: SessionView) -> bool:
    """`access.may_see`, with the session's assignments read only when they matter (an
    ended session the caller did not handle last)."""
    principal = principal_of(request)
    if may_see(principal, session):
        return True
    if session.status != "ended":
        return False
    assignments = await gateway_of(request).runtime.store.assignments(session.id)
    handled = any(a.operator_id == principal.id for a in assignments)
    return may_see(principal, session, handled=handled)
