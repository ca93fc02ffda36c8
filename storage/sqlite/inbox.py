"""The durable inbox: every webhook event, unique on its dedupe key, until processed."""

from __future__ import annotations

import sqlite3
from typing import Any

from storage.rows import Alias, InboxRow, JournalRow, StatusRow
from storage.sqlite import aliases, journal, messages, outbox
from storage.sqlite.reader import Reader
from storage.sqlite.timefmt import iso, parse_iso, parse_iso_or_none
from storage.views import InboxCounts, InboxEvent, InboxRecord

_INSERT = (
    "INSERT INTO inbox (dedupe_key, source, kind, conversation_id, payload, received_at,"
    " processed_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING"
)


def insert(
    conn: sqlite3.Connection, rows: list[InboxRow], links: list[Alias], now: str
) -> list[int | None]:
    """Insert events; a duplicate key gives None in its place. An event's journal note (why
    it was ignored) and its status are applied only when the event is new. `links` are the
    customer keys the events taught."""
    aliases.upsert(conn, links, now)
    ids: list[int | None] = []
    notes: list[JournalRow] = []
    for r in rows:
        received = iso(r.received_at)
        cursor = conn.execute(
            _INSERT,
            (
                r.dedupe_key,
                r.source,
                r.kind,
                r.conversation_id,
                r.payload,
                received,
                received if r.processed else None,
            ),
        )
        new = cursor.rowcount == 1 and bool(cursor.lastrowid)
        ids.append(int(cursor.lastrowid or 0) if new else None)
        if not new:
            continue
        if r.note is not None:
            notes.append(r.note)
        if r.status is not None:
            _apply_status(conn, r.status)
    journal.insert(conn, notes)
    return ids


def _apply_status(conn: sqlite3.Connection, status: StatusRow) -> None:
    """Merge the status; a failure is journaled in the conversation of the message. A
    status naming one of our sends confirms it reached the provider (any status, `failed`
    too: a request that was refused gets no status)."""
    if status.outbox_id is not None:
        outbox.confirm(conn, status.outbox_id, status.provider_message_id, iso(status.at))
    messages.merge_statuses(conn, [status])
    if status.status == "failed":
        conn.execute(
            "INSERT INTO journal (conversation_id, at, step_type, status, detail)"
            " SELECT conversation_id, ?, 'delivery', 'failed', ? FROM messages"
            " WHERE provider_message_id = ? AND direction = 'out' LIMIT 1",
            (
                iso(status.at),
                f"{status.error_code} {status.error_detail or ''}".strip(),
                status.provider_message_id,
            ),
        )


def mark_processed(conn: sqlite3.Connection, inbox_id: int, now: str) -> None:
    conn.execute("UPDATE inbox SET processed_at = ?, error = NULL WHERE id = ?", (now, inbox_id))


def mark_failed(conn: sqlite3.Connection, inbox_id: int, error: str) -> None:
    conn.execute(
        "UPDATE inbox SET attempts = attempts + 1, error = ? WHERE id = ?", (error, inbox_id)
    )


async def unprocessed(
    reader: Reader,
    max_attempts: int,
    conversation_id: str | None,
    after_id: int,
    limit: int | None,
) -> list[InboxEvent]:
    """Events stored but not processed (the process stopped first), oldest first."""
    where = [
        "processed_at IS NULL",
        "attempts < :max",
        "id > :after",
        "payload IS NOT NULL",
        "conversation_id IS NOT NULL",
    ]
    params: dict[str, Any] = {"max": max_attempts, "after": after_id, "limit": limit or -1}
    if conversation_id is not None:
        where.append("conversation_id = :cid")
        params["cid"] = conversation_id
    rows = await reader.all(
        f"SELECT id, conversation_id, payload FROM inbox WHERE {' AND '.join(where)}"
        " ORDER BY id LIMIT :limit",
        params,
    )
    return [InboxEvent(r[0], r[1], bytes(r[2])) for r in rows]


async def counts(reader: Reader) -> InboxCounts:
    row = await reader.one(
        "SELECT count(*) AS total, sum(processed_at IS NULL) AS unprocessed FROM inbox"
    )
    assert row is not None
    return InboxCounts(total=int(row["total"] or 0), unprocessed=int(row["unprocessed"] or 0))


async def of_conversation(
    reader: Reader, conversation_id: str, limit: int, offset: int
) -> tuple[list[InboxRecord], int]:
    """A conversation's stored webhook events, newest first."""
    rows = await reader.all(
        "SELECT id, dedupe_key, source, kind, received_at, processed_at, attempts, error,"
        " payload FROM inbox WHERE conversation_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
        (conversation_id, limit, offset),
    )
    total = await reader.scalar(
        "SELECT count(*) FROM inbox WHERE conversation_id = ?", (conversation_id,)
    )
    found = [
        InboxRecord(
            r[0],
            r[1],
            r[2],
            r[3],
            parse_iso(r[4]),
            parse_iso_or_none(r[5]),
            r[6],
            r[7],
            None if r[8] is None else bytes(r[8]),
        )
        for r in rows
    ]
    return found, int(total)
