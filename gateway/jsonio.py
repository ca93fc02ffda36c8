"""JSON in and out with msgspec: views are encoded here, at the edge, and nowhere else."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from aiohttp import web

from actors.runtime.codec import json_encoder
from gateway.errors import decoded

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
    return decoded(decoder.decode, raw)


_decoders: dict[Any, Any] = {}
