"""The conversation or session a request names, or the 404 (and the 403 for a session the
caller may not read)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.access import may_see
from gateway.auth import principal_of
from gateway.context import gateway_of
from gateway.errors import ApiError
from storage import conversations
from storage import sessions as session_store


async def conversation_or_404(request: web.Request) -> dict[str, Any]:
    gw = gateway_of(request)
    conversation_id = request.match_info["id"]
    row = await conversations.get(gw.runtime.reader, conversation_id)
    if row is None:
        raise ApiError(404, "not_found", f"no conversation {conversation_id}", "id")
    return row


async def session_or_404(request: web.Request, *, visible: bool = True) -> dict[str, Any]:
    session_id = request.match_info["id"]
    row = await session_store.get(gateway_of(request).runtime.reader, session_id)
    if row is None:
        raise ApiError(404, "not_found", f"no session {session_id}", "id")
    if visible and not await may_read(request, row):
        raise ApiError(403, "forbidden", "agents see only their own sessions and waiting ones")
    return row


async def may_read(request: web.Request, row: dict[str, Any]) -> bool:
    """What an agent may open: what it may see, and every session of its history."""
    principal = principal_of(request)
    if may_see(principal, row):
        return True
    reader = gateway_of(request).runtime.reader
    assignments = await session_store.assignments_of(reader, row["id"])
    return any(a["operator_id"] == principal.id for a in assignments)
