"""JSON in and out with msgspec; a bad body is a 400 naming the field."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from aiohttp import web

from actors.runtime.codec import json_encoder

T = TypeVar("T")
_encoder = json_encoder()


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=_encoder.encode(data), status=status, content_type="application/json")


async def read_json(request: web.Request, type_: type[T]) -> T:
    """Decode the body into `type_`; 400 `invalid_json` or `invalid_body` with the field."""
    from gateway.errors import ApiError, validation_error

    raw = await request.read()
    if not raw.strip():
        raw = b"{}"
    try:
        return msgspec.json.decode(raw, type=type_)
    except msgspec.ValidationError as exc:
        raise validation_error(exc) from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, "invalid_json", f"body is not valid JSON: {exc}", "body") from None
