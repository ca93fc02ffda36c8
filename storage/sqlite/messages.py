"""The messages of a conversation, in and out, and their delivery status."""

from __future__ import annotations

import sqlite3

from storage.rows import MessageRow, StatusRow
from storage.sqlite.reader import Reader
from storage.sqlite.timefmt import iso, parse_iso, parse_iso_or_none
from storage.views import MessageView

_INSERT = (
    "INSERT INTO messages (id, conversation_id, direction, sender_type, sender_id, kind, text,"
    " payload, provider_message_id, delivery_status, processed, created_at, session_id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_VIEW = (
    "id, conversation_id, session_id, direction, sender_type, sender_id, kind, text,"
    " created_at, delivery_status, provider_message_id, error_code, read_at"
)

# Statuses only move forward: sent < delivered < read < played; failed is apart (it beats
# sent, but a late `failed` does not undo a delivery seen from another device). The SQL
# below is written from this table.
RANK = {"pending": 0, "sent": 1, "failed": 1.5, "delivered": 2, "read": 3, "played": 4}
_RANK_SQL = (
    "CASE coalesce(delivery_status, '')"
    + "".join(f" WHEN '{status}' THEN {rank}" for status, rank in RANK.items())
    + " ELSE -1 END"
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


def insert(conn: sqlite3.Connection, rows: list[MessageRow]) -> None:
    if not rows:
        return
    conn.executemany(
        _INSERT,
        [
            (
                int(v.id),
                v.conversation_id,
                v.direction,
                v.sender_type,
                v.sender_id,
                v.kind,
                v.text,
                r.payload,
                v.provider_message_id,
                v.status,
                int(r.processed),
                iso(v.created_at),
                v.session_id,
            )
            for r in rows
            for v in (r.view,)
        ],
    )


def merge_statuses(conn: sqlite3.Connection, statuses: list[StatusRow]) -> int:
    """Apply statuses monotonically; returns how many messages changed."""
    changed = 0
    for s in statuses:
        cursor = conn.execute(
            _MERGE,
            {
                "status": s.status,
                "at": iso(s.at),
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


def max_id(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0])


def view(row: sqlite3.Row) -> MessageView:
    return MessageView(
        id=str(row[0]),
        conversation_id=row[1],
        session_id=row[2],
        direction=row[3],
        sender_type=row[4],
        sender_id=row[5],
        kind=row[6],
        text=row[7],
        created_at=parse_iso(row[8]),
        status=row[9],
        provider_message_id=row[10],
        error_code=row[11],
        read_at=parse_iso_or_none(row[12]),
    )


async def for_conversation(
    reader: Reader, conversation_id: str, limit: int, offset: int
) -> tuple[list[MessageView], int]:
    rows = await reader.all(
        f"SELECT {_VIEW} FROM messages WHERE conversation_id = ? ORDER BY id LIMIT ? OFFSET ?",
        (conversation_id, limit, offset),
    )
    total = await reader.scalar(
        "SELECT count(*) FROM messages WHERE conversation_id = ?", (conversation_id,)
    )
    return [view(r) for r in rows], int(total)


async def get(reader: Reader, message_id: str) -> MessageView | None:
    if not (message_id.isascii() and message_id.isdigit()) or len(message_id) > 18:
        return None
    row = await reader.one(f"SELECT {_VIEW} FROM messages WHERE id = ?", (int(message_id),))
    return None if row is None else view(row)


async def for_session(reader: Reader, session_id: str) -> list[MessageView]:
    rows = await reader.all(
        f"SELECT {_VIEW} FROM messages WHERE session_id = ? ORDER BY id", (session_id,)
    )
    return [view(r) for r in rows]
