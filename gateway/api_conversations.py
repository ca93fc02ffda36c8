"""Conversation rows of API.md: list, one, its messages, its journey."""

from __future__ import annotations

from aiohttp import web

from gateway.auth import requires
from gateway.context import gateway_of
from gateway.errors import ApiError
from gateway.jsonio import json_response
from gateway.lookups import conversation_or_404
from gateway.paging import page, paging
from gateway.views import raw_event
from storage.views import ConversationFilter

EVERY_MESSAGE = 10_000
_BOOL = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


@requires("supervisor")
async def list_conversations(request: web.Request) -> web.Response:
    runtime = gateway_of(request).runtime
    limit, offset = paging(request)
    q = request.query
    status, mode = q.get("status") or None, q.get("mode") or None
    if status not in (None, "open", "closed"):
        raise ApiError(400, "invalid_query", "status must be open or closed", "status")
    if mode not in (None, "bot", "human"):
        raise ApiError(400, "invalid_query", "mode must be bot or human", "mode")
    archived = q.get("archived")
    if archived and archived.lower() not in _BOOL:
        raise ApiError(400, "invalid_query", "archived must be true or false", "archived")
    where = ConversationFilter(
        phone=q.get("phone") or None,
        status=status,  # type: ignore[arg-type]
        mode=mode,  # type: ignore[arg-type]
        tag=q.get("tag") or None,
        archived=_BOOL[archived.lower()] if archived else None,
    )
    found, total = await runtime.store.conversations(where, limit, offset, runtime.clock.now())
    return json_response(page(found, total, limit, offset))


@requires("supervisor")
async def get_conversation(request: web.Request) -> web.Response:
    return json_response(await conversation_or_404(request))


@requires("supervisor")
async def conversation_messages(request: web.Request) -> web.Response:
    conversation = await conversation_or_404(request)
    limit, offset = paging(request)
    if not request.query.get("limit"):
        limit = EVERY_MESSAGE  # every message unless a page is asked for; `offset` counts still
    found, total = await gateway_of(request).runtime.store.messages(conversation.id, limit, offset)
    return json_response(page(found, total, limit, offset))


@requires("supervisor")
async def conversation_journey(request: web.Request) -> web.Response:
    conversation = await conversation_or_404(request)
    entries = await gateway_of(request).runtime.store.journey(conversation.id)
    return json_response(
        {"conversation_id": conversation.id, "items": entries, "total": len(entries)}
    )


@requires("supervisor")
async def conversation_events(request: web.Request) -> web.Response:
    """The webhook events stored for the conversation, newest first, each with the
    provider's payload as it came (nothing a payload carries is thrown away)."""
    conversation = await conversation_or_404(request)
    limit, offset = paging(request)
    found, total = await gateway_of(request).runtime.store.inbox_events(
        conversation.id, limit, offset
    )
    return json_response(page([raw_event(e) for e in found], total, limit, offset))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/conversations", list_conversations)
    app.router.add_get("/api/conversations/{id}", get_conversation)
    app.router.add_get("/api/conversations/{id}/messages", conversation_messages)
    app.router.add_get("/api/conversations/{id}/journey", conversation_journey)
    app.router.add_get("/api/conversations/{id}/events", conversation_events)
