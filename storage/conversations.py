"""Conversations: the snapshot commit of one actor step, and the queries on them."""

from __future__ import annotations

import sqlite3
from typing import Any

import msgspec

from storage import journal, messages, outbox, pauses, sessions
from storage.outbox import DueSend
from storage.reader import Reader
from storage.rows import StepCommit

_UPSERT = """
INSERT INTO conversations (
    id, business_id, customer_id, phone, customer_name, mode, status, paused_until,
    flow_id, node_id, last_inbound_at, last_activity_at, next_wakeup_at, archived_at,
    message_count, unread_count, snapshot, created_at, updated_at
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    phone = excluded.phone, customer_name = excluded.customer_name, mode = excluded.mode,
    status = excluded.status, paused_until = excluded.paused_until,
    flow_id = excluded.flow_id, node_id = excluded.node_id,
    last_inbound_at = excluded.last_inbound_at, last_activity_at = excluded.last_activity_at,
    next_wakeup_at = excluded.next_wakeup_at, archived_at = excluded.archived_at,
    message_count = excluded.message_count, unread_count = excluded.unread_count,
    snapshot = excluded.snapshot, version = conversations.version + 1,
    updated_at = excluded.updated_at
"""


_UPDATE = """
UPDATE conversations SET
    phone = ?, customer_name = ?, mode = ?, status = ?, paused_until = ?, flow_id = ?,
    node_id = ?, last_inbound_at = ?, last_activity_at = ?, next_wakeup_at = ?,
    archived_at = ?, message_count = ?, unread_count = ?, snapshot = ?,
    version = version + 1, updated_at = ?
WHERE id = ?
"""


class Committed(msgspec.Struct, frozen=True):
    """What a step's commit created: the sends (for the sender) and the message ids."""

    sends: list[DueSend]
    message_ids: list[int]


def commit_step(conn: sqlite3.Connection, commit: StepCommit) -> Committed:
    """Write snapshot, messages, outbox, journal, pause, session and assignment history;
    mark the inbox row processed."""
    row = commit.conversation
    if commit.exists:
        conn.execute(
            _UPDATE,
            (
                row.phone,
                row.customer_name,
                row.mode,
                row.status,
                row.paused_until,
                row.flow_id,
                row.node_id,
                row.last_inbound_at,
                row.last_activity_at,
                row.next_wakeup_at,
                row.archived_at,
                row.message_count,
                row.unread_count,
                row.snapshot,
                row.updated_at,
                row.id,
            ),
        )
    else:
        conn.execute(_UPSERT, msgspec.structs.astuple(row))
    message_ids = messages.insert(conn, commit.messages)
    sends = outbox.insert(conn, commit.outbox, message_ids)
    journal.insert(conn, commit.journal)
    if commit.pause is not None:
        pauses.upsert(conn, commit.pause, commit.now)
    if commit.session is not None:
        sessions.upsert(conn, commit.session)
    if commit.assignments:
        sessions.log_assignments(conn, commit.assignments)
    if commit.inbox_id:
        conn.execute(
            "UPDATE inbox SET processed_at = ?, error = NULL WHERE id = ?",
            (commit.now, commit.inbox_id),
        )
    return Committed(sends, message_ids)


async def load_snapshots(reader: Reader, ids: list[str]) -> dict[str, bytes]:
    """Snapshots of the given conversations (missing ids are absent)."""
    found: dict[str, bytes] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = await reader.all(
            f"SELECT id, snapshot FROM conversations WHERE id IN ({marks})", chunk
        )
        found.update((r["id"], bytes(r["snapshot"])) for r in rows)
    return found


async def wakeups(reader: Reader) -> list[tuple[str, float]]:
    """Every pending deadline, to rebuild the timer heap at start-up."""
    rows = await reader.conn.execute_fetchall(
        "SELECT id, next_wakeup_at FROM conversations WHERE next_wakeup_at IS NOT NULL"
    )
    return [(r[0], r[1]) for r in rows]


_FILTERS = {
    "phone": "phone = :phone",
    "status": "status = :status",
    "mode": "mode = :mode",
    "tag": "EXISTS (SELECT 1 FROM json_each(conversations.tags) WHERE value = :tag)",
}


async def search(
    reader: Reader, filters: dict[str, Any], limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Conversations matching `filters` (phone, status, mode, tag, archived), newest first."""
    where, params = [], dict(filters)
    for name in filters:
        if name in _FILTERS:
            where.append(_FILTERS[name])
    archived = filters.get("archived")
    if archived is not None:
        params.pop("archived")
        where.append("archived_at IS NOT NULL" if archived else "archived_at IS NULL")
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    total = await reader.scalar(f"SELECT count(*) FROM conversations {clause}", params)
    rows = await reader.all(
        f"SELECT * FROM conversations {clause}"
        " ORDER BY coalesce(last_activity_at, created_at) DESC, id LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},
    )
    return [dict(r) for r in rows], int(total)


async def get(reader: Reader, conversation_id: str) -> dict[str, Any] | None:
    row = await reader.one("SELECT * FROM conversations WHERE id = ?", (conversation_id,))
    return None if row is None else dict(row)
