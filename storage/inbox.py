"""The durable inbox: every webhook event, unique on its dedupe key, until processed."""

from __future__ import annotations

import sqlite3
from typing import Any

from storage import journal, messages
from storage.reader import Reader
from storage.rows import InboxRow, JournalRow, StatusRow

_INSERT = (
    "INSERT INTO inbox (dedupe_key, source, kind, conversation_id, payload, received_at,"
    " processed_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING"
)


def insert(
    conn: sqlite3.Connection, rows: list[tuple[InboxRow, JournalRow | None]]
) -> list[int | None]:
    """Insert events; a duplicate key gives None in its place. An event's journal note (why
    it was ignored) is written only when the event is new."""
    ids: list[int | None] = []
    notes: list[JournalRow] = []
    for r, note in rows:
        cursor = conn.execute(
            _INSERT,
            (
                r.dedupe_key,
                r.source,
                r.kind,
                r.conversation_id,
                r.payload,
                r.received_at,
                r.received_at if r.processed else None,
            ),
        )
        new = cursor.rowcount == 1 and bool(cursor.lastrowid)
        ids.append(int(cursor.lastrowid or 0) if new else None)
        if new and note is not None:
            notes.append(note)
        if new and r.status is not None:
            _apply_status(conn, r.status)
    journal.insert(conn, notes)
    return ids


def _apply_status(conn: sqlite3.Connection, status: StatusRow) -> None:
    """Merge the status; a failure is journaled in the conversation of the message."""
    messages.merge_statuses(conn, [status])
    if status.status == "failed":
        conn.execute(
            "INSERT INTO journal (conversation_id, at, step_type, status, detail)"
            " SELECT conversation_id, ?, 'delivery', 'failed', ? FROM messages"
            " WHERE provider_message_id = ? AND direction = 'out' LIMIT 1",
            (
                status.at,
                f"{status.error_code} {status.error_detail or ''}".strip(),
                status.provider_message_id,
            ),
        )


def mark_failed(conn: sqlite3.Connection, inbox_id: int, error: str) -> None:
    conn.execute(
        "UPDATE inbox SET attempts = attempts + 1, error = ? WHERE id = ?", (error, inbox_id)
    )


async def unprocessed(reader: Reader, max_attempts: int) -> list[dict[str, Any]]:
    """Events stored but not processed (the process stopped first), oldest first."""
    rows = await reader.all(
        "SELECT id, conversation_id, kind, payload FROM inbox"
        " WHERE processed_at IS NULL AND attempts < ? ORDER BY id",
        (max_attempts,),
    )
    return [dict(r) for r in rows]


async def counts(reader: Reader) -> dict[str, int]:
    row = await reader.one(
        "SELECT count(*) AS total, sum(processed_at IS NULL) AS unprocessed FROM inbox"
    )
    assert row is not None
    return {"total": int(row["total"] or 0), "unprocessed": int(row["unprocessed"] or 0)}
