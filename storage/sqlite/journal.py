"""The journal: every step of a message's journey (`step_type`, `status`, `detail`)."""

from __future__ import annotations

import sqlite3

from storage.rows import JournalRow
from storage.sqlite.reader import Reader
from storage.sqlite.timefmt import iso, parse_iso
from storage.views import JournalEntry


def insert(conn: sqlite3.Connection, rows: list[JournalRow]) -> None:
    if rows:
        conn.executemany(
            "INSERT INTO journal (conversation_id, at, step_type, status, detail)"
            " VALUES (?, ?, ?, ?, ?)",
            [(r.conversation_id, iso(r.at), r.step_type, r.status, r.detail) for r in rows],
        )


async def for_conversation(reader: Reader, conversation_id: str) -> list[JournalEntry]:
    rows = await reader.all(
        "SELECT at, step_type, status, detail FROM journal WHERE conversation_id = ? ORDER BY id",
        (conversation_id,),
    )
    return [JournalEntry(parse_iso(r[0]), r[1], r[2], r[3]) for r in rows]
