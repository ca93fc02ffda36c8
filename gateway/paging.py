"""`limit` (default 50, max 500) and `offset` query parameters, and the list shape."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.errors import ApiError

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query.get(name)
    if text is None or text == "":
        return default
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise ApiError(400, "invalid_query", f"{name} must be a whole number, in digits", name)
    value = int(text)
    if not low <= value <= high:
        raise ApiError(400, "invalid_query", f"{name} must be between {low} and {high}", name)
    return value


def paging(request: web.Request) -> tuple[int, int]:
    return (
        int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        int_param(request, "offset", 0, 0, 2**31),
    )


def page(items: list[Any], total: int, limit: int, offset: int) -> dict[str, Any]:
    return {"items": items, "total": total, "limit": limit, "offset": offset}
