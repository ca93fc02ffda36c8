"""JSON in and out with msgspec: views are encoded here, at the edge, and nowhere else."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from aiohttp import web

from actors.runtime.codec import json_encoder
from gateway.errors import ApiError, decoded

T = TypeVar("T")
_encoder = json_encoder()


def dumps(data: Any) -> str:
    """JSON text (a WebSocket frame)."""
    return _encoder.encode(data).decode()


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=_encoder.encode(data), status=status, content_type="application/json")


async def read_json(request: web.Request, type_: type[T]) -> T:
    """Decode the body into `type_` (an empty body is `{}`); a 400 names what is wrong."""
    raw = await request.read()
    if not raw.strip():
        raw = b"{}"
    decoder: msgspec.json.Decoder[T] | None = _decoders.get(type_)
    if decoder is None:
        decoder = _decoders[type_] = msgspec.json.Decoder(type_)
    body = decoded(decoder.decode, raw)
    where = nul_at(msgspec.to_builtins(body))
    if where is not None:
        raise ApiError(400, "invalid_body", "text may not contain NUL characters", where or "body")
    return body


def nul_at(value: Any, path: str = "") -> str | None:
    """The path of the first text holding a NUL character, or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = nul_at(item, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = nul_at(item, f"{path}.{i}" if path else str(i))
            if found is not None:
                return found
    return None


_decoders: dict[Any, Any] = {}
