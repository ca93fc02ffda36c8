"""The messages of a conversation, in and out, and their delivery status."""

from __future__ import annotations

import sqlite3
from typing import Any

from storage.reader import Reader
from storage.rows import MessageRow, StatusRow

_INSERT = (
    "INSERT INTO messages (conversation_id, direction, sender_type, sender_id, kind, text,"
    " payload, provider_message_id, delivery_status, processed, created_at, session_id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

# Statuses only move forward: sent < delivered < read < played; failed is apart (it beats
# sent, but a late `failed` does not undo a delivery seen from another device).
RANK = {"pending": 0, "sent": 1, "failed": 1.5, "delivered": 2, "read": 3, "played": 4}
_RANK_SQL = (
    "CASE coalesce(delivery_status, '') WHEN 'pending' THEN 0 WHEN 'sent' THEN 1"
    " WHEN 'failed' THEN 1.5 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3 WHEN 'played' THEN 4"
    " ELSE -1 END"
)
_MERGE = (
    "UPDATE messages SET delivery_status = :status, status_at = :at,"
    " error_code = coalesce(:code, error_code), error_detail = coalesce(:detail, error_detail),"
    " read_at = CASE WHEN :status IN ('read', 'played') THEN coalesce(read_at, :at)"
    " ELSE read_at END"
    " WHERE (provider_message_id = :pid"
    "  OR id = (SELECT message_id FROM outbox WHERE id = :outbox_id))"
    f" AND direction = 'out' AND ({_RANK_SQL}) < :rank"
)


def insert(conn: sqlite3.Connection, rows: list[MessageRow]) -> list[int]:
    ids = []
    for r in rows:
        cursor = conn.execute(
            _INSERT,
            (
                r.conversation_id,
                r.direction,
                r.sender_type,
                r.sender_id,
                r.kind,
                r.text,
                r.payload,
                r.provider_message_id,
                r.delivery_status,
                r.processed,
                r.created_at,
                r.session_id,
            ),
        )
        ids.append(int(cursor.lastrowid or 0))
    return ids


def merge_statuses(conn: sqlite3.Connection, statuses: list[StatusRow]) -> int:
    """Apply statuses monotonically; returns how many messages changed."""
    changed = 0
    for s in statuses:
        cursor = conn.execute(
            _MERGE,
            {
                "status": s.status,
                "at": s.at,
                "code": s.error_code,
                "detail": s.error_detail,
                "pid": s.provider_message_id,
                "outbox_id": s.outbox_id,
                "rank": RANK.get(s.status, 0),
            },
        )
        changed += cursor.rowcount
    return changed


def set_provider_id(
    conn: sqlite3.Connection, message_id: int, provider_message_id: str, status: str, at: str
) -> None:
    conn.execute(
        "UPDATE messages SET provider_message_id = ?,"
        f" delivery_status = CASE WHEN ({_RANK_SQL}) < ? THEN ? ELSE delivery_status END,"
        " status_at = ? WHERE id = ?",
        (provider_message_id, RANK[status], status, at, message_id),
    )


def set_failed(
    conn: sqlite3.Connection, message_id: int, code: int | None, detail: str, at: str
) -> None:
    conn.execute(
        "UPDATE messages SET delivery_status = 'failed', error_code = ?, error_detail = ?,"
        " status_at = ? WHERE id = ?",
        (code, detail, at, message_id),
    )


async def for_conversation(
    reader: Reader, conversation_id: str, limit: int = 10_000, offset: int = 0
) -> list[dict[str, Any]]:
    rows = await reader.all(
        "SELECT * FROM messages WHERE conversation_id = ? ORDER BY id LIMIT ? OFFSET ?",
        (conversation_id, limit, offset),
    )
    return [dict(r) for r in rows]


async def get(reader: Reader, message_id: int | None) -> dict[str, Any]:
    row = await reader.one("SELECT * FROM messages WHERE id = ?", (message_id,))
    if row is None:
        raise LookupError(f"no message {message_id}")
    return dict(row)


async def for_session(reader: Reader, session_id: str) -> list[dict[str, Any]]:
    rows = await reader.all(
        "SELECT * FROM messages WHERE session_id = ? ORDER BY id", (session_id,)
    )
    return [dict(r) for r in rows]


async def count_for_conversation(reader: Reader, conversation_id: str) -> int:
    return int(
        await reader.scalar(
            "SELECT count(*) FROM messages WHERE conversation_id = ?", (conversation_id,)
        )
    )
