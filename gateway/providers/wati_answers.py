"""How WATI's answers are read, by the sender and the history reader alike: the JSON body
(or None), and the human reason it gives (`info`, `message` or `error`)."""

from __future__ import annotations

from typing import Any

import msgspec


def json_or_none(raw: bytes) -> Any:
    try:
        return msgspec.json.decode(raw) if raw.strip() else None
    except (msgspec.DecodeError, RecursionError):
        return None


def info_of(document: Any, limit: int = 300) -> str:
    """The reason WATI gives in a body, cut to `limit` characters; "" when none."""
    if isinstance(document, dict):
        for key in ("info", "message", "error"):
            value = document.get(key)
            if isinstance(value, str) and value:
                return value[:limit]
    return ""
