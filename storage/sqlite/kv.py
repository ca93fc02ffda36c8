"""A small key-value table for process-wide facts (the virtual clock's time)."""

from __future__ import annotations

import sqlite3

from storage.sqlite.reader import Reader


def put(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO kv (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


async def get(reader: Reader, key: str) -> str | None:
    value = await reader.scalar("SELECT value FROM kv WHERE key = ?", (key,))
    return None if value is None else str(value)
