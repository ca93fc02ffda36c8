"""`customer_aliases`: the keys (phone, BSUID) that lead to a conversation other than the one
their own key names: a BSUID linked to its phone, a number that changed."""

from __future__ import annotations

import sqlite3

from storage.rows import Alias
from storage.sqlite.reader import Reader


def upsert(conn: sqlite3.Connection, rows: list[Alias], now: str) -> None:
    if rows:
        conn.executemany(
            "INSERT INTO customer_aliases (business_id, kind, key, conversation_id, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (business_id, kind, key)"
            " DO UPDATE SET conversation_id = excluded.conversation_id",
            [(a.business_id, a.kind, a.key, a.conversation_id, now) for a in rows],
        )


async def of_kind(reader: Reader, kind: str) -> list[Alias]:
    rows = await reader.all(
        "SELECT business_id, kind, key, conversation_id FROM customer_aliases WHERE kind = ?",
        (kind,),
    )
    return [Alias(r[0], r[1], r[2], r[3]) for r in rows]


async def get(reader: Reader, business_id: str, kind: str, key: str) -> str | None:
    value = await reader.scalar(
        "SELECT conversation_id FROM customer_aliases"
        " WHERE business_id = ? AND kind = ? AND key = ?",
        (business_id, kind, key),
    )
    return None if value is None else str(value)
