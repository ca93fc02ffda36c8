"""Conversation rows of API.md: list, one, its messages, its journey."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.auth import requires
from gateway.context import gateway_of
from gateway.errors import ApiError
from gateway.jsonio import json_response
from gateway.lookups import conversation_or_404
from gateway.paging import page, paging
from gateway.views import conversation_view, message_view
from storage import conversations, journal, messages

_BOOL = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


@requires("supervisor")
async def list_conversations(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    limit, offset = paging(request)
    filters: dict[str, Any] = {}
    for name in ("phone", "status", "mode", "tag"):
        if request.query.get(name):
            filters[name] = request.query[name]
    if filters.get("status") not in (None, "open", "closed"):
        raise ApiError(400, "invalid_query", "status must be open or closed", "status")
    if filters.get("mode") not in (None, "bot", "human"):
        raise ApiError(400, "invalid_query", "mode must be bot or human", "mode")
    archived = request.query.get("archived")
    if archived:
        if archived.lower() not in _BOOL:
            raise ApiError(400, "invalid_query", "archived must be true or false", "archived")
        filters["archived"] = _BOOL[archived.lower()]
    rows, total = await conversations.search(gw.runtime.reader, filters, limit, offset)
    now = gw.runtime.clock.now()
    return json_response(page([conversation_view(r, now) for r in rows], total, limit, offset))


@requires("supervisor")
async def get_conversation(request: web.Request) -> web.Response:
    row = await conversation_or_404(request)
    return json_response(conversation_view(row, gateway_of(request).runtime.clock.now()))


@requires("supervisor")
async def conversation_messages(request: web.Request) -> web.Response:
    row = await conversation_or_404(request)
    gw = gateway_of(request)
    limit, offset = paging(request) if "limit" in request.query else (10_000, 0)
    rows = await messages.for_conversation(gw.runtime.reader, row["id"], limit, offset)
    total = await messages.count_for_conversation(gw.runtime.reader, row["id"])
    return json_response(page([message_view(r) for r in rows], total, limit, offset))


@requires("supervisor")
async def conversation_journey(request: web.Request) -> web.Response:
    row = await conversation_or_404(request)
    gw = gateway_of(request)
    entries = await journal.for_conversation(gw.runtime.reader, row["id"])
    return json_response({"conversation_id": row["id"], "items": entries, "total": len(entries)})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/conversations", list_conversations)
    app.router.add_get("/api/conversations/{id}", get_conversation)
    app.router.add_get("/api/conversations/{id}/messages", conversation_messages)
    app.router.add_get("/api/conversations/{id}/journey", conversation_journey)
