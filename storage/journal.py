"""The journal: every step of a message's journey (`step_type`, `status`, `detail`)."""

from __future__ import annotations

import sqlite3
from typing import Any

from storage.reader import Reader
from storage.rows import JournalRow


def insert(conn: sqlite3.Connection, rows: list[JournalRow]) -> None:
    if rows:
        conn.executemany(
            "INSERT INTO journal (conversation_id, at, step_type, status, detail)"
            " VALUES (?, ?, ?, ?, ?)",
            [(r.conversation_id, r.at, r.step_type, r.status, r.detail) for r in rows],
        )


async def for_conversation(
    reader: Reader, conversation_id: str, limit: int = 10_000, offset: int = 0
) -> list[dict[str, Any]]:
    rows = await reader.all(
        "SELECT at, step_type, status, detail FROM journal WHERE conversation_id = ?"
        " ORDER BY id LIMIT ? OFFSET ?",
        (conversation_id, limit, offset),
    )
    return [dict(r) for r in rows]
