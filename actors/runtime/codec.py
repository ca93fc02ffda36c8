"""msgspec encoders shared by the core. `enc_hook` writes datetime subclasses (freezegun's
FakeDatetime in tests) as RFC 3339 text in msgspec's own form (`...Z`), which the decoders
read back as datetimes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec


def enc_hook(obj: Any) -> Any:
    if isinstance(obj, datetime):
        return obj.astimezone(UTC).isoformat().replace("+00:00", "Z")
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


def msgpack_encoder() -> msgspec.msgpack.Encoder:
    return msgspec.msgpack.Encoder(enc_hook=enc_hook)


def json_encoder() -> msgspec.json.Encoder:
    return msgspec.json.Encoder(enc_hook=enc_hook)
