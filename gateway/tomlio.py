"""TOML into typed Structs: `tomllib` parses, `msgspec.convert` checks (names the key).

(msgspec.toml.decode would do both, but it trips over freezegun's patched datetime.)
"""

from __future__ import annotations

import tomllib
from typing import TypeVar

import msgspec

T = TypeVar("T")


def decode_toml(data: bytes | str, type_: type[T]) -> T:
    """Raises msgspec.DecodeError (not TOML) or msgspec.ValidationError (wrong key/type)."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    try:
        parsed = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise msgspec.DecodeError(str(exc)) from None
    return msgspec.convert(parsed, type=type_)
