"""The outbox: sends committed with the step that decided them, drained by the sender."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from storage.rows import OutboxRow
from storage.sqlite import messages
from storage.sqlite.reader import Reader
from storage.sqlite.timefmt import from_ts, iso
from storage.views import DueSend, OutboxCounts


def insert(conn: sqlite3.Connection, rows: list[OutboxRow]) -> None:
    if not rows:
        return
    conn.executemany(
        "INSERT INTO outbox (id, conversation_id, message_id, recipient, body, text,"
        " next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                r.id,
                r.conversation_id,
                r.message_id,
                r.recipient,
                r.body,
                r.text,
                r.next_attempt_at.timestamp(),
                created,
                created,
            )
            for r in rows
            for created in (iso(r.created_at),)
        ],
    )


def max_id(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT coalesce(max(id), 0) FROM outbox").fetchone()[0])


def mark_sent(conn: sqlite3.Connection, send: DueSend, provider_message_id: str, at: str) -> None:
    conn.execute(
        "UPDATE outbox SET status = 'sent', attempts = attempts + 1,"
        " provider_message_id = ?, attempted_at = NULL,"
        " updated_at = ? WHERE id = ?",
        (provider_message_id, at, send.id),
    )
    if send.message_id is not None:
        messages.set_provider_id(conn, send.message_id, provider_message_id, "sent", at)


def mark_retry(
    conn: sqlite3.Connection,
    outbox_id: int,
    next_attempt_at: float,
    code: int | None,
    detail: str,
    at: str,
) -> None:
    conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, error_code = ?,"
        " error_detail = ?, attempted_at = NULL, updated_at = ?"
        " WHERE id = ? AND status = 'pending'",
        (next_attempt_at, code, detail, at, outbox_id),
    )


def mark_failed(
    conn: sqlite3.Connection, send: DueSend, code: int | None, detail: str, at: str
) -> None:
    conn.execute(
        "UPDATE outbox SET status = 'failed', attempts = attempts + 1, error_code = ?,"
        " error_detail = ?, attempted_at = NULL, updated_at = ? WHERE id = ?",
        (code, detail, at, send.id),
    )
    if send.message_id is not None:
        messages.set_failed(conn, send.message_id, code, detail, at)
    conn.execute(
        "INSERT INTO journal (conversation_id, at, step_type, status, detail)"
        " SELECT conversation_id, ?, 'delivery', 'send_failed', ? FROM outbox WHERE id = ?",
        (at, f"{code} {detail}" if code is not None else detail, send.id),
    )


def mark_attempting(conn: sqlite3.Connection, outbox_ids: list[int], at: float) -> None:
    conn.executemany(
        "UPDATE outbox SET attempted_at = ? WHERE id = ? AND status = 'pending'",
        [(at, i) for i in outbox_ids],
    )


def defer_unconfirmed(conn: sqlite3.Connection, until: float) -> list[tuple[int, str]]:
    """Pending sends marked as attempted (in flight when the process died) wait until
    `until` for a status that confirms them; returns their (id, recipient), oldest first."""
    rows = conn.execute(
        "SELECT id, recipient FROM outbox WHERE attempted_at IS NOT NULL AND status = 'pending'"
        " ORDER BY id"
    ).fetchall()
    conn.executemany(
        "UPDATE outbox SET next_attempt_at = ? WHERE id = ?",
        [(until, r[0]) for r in rows],
    )
    return [(int(r[0]), str(r[1])) for r in rows]


def confirm(conn: sqlite3.Connection, outbox_id: int, provider_message_id: str, at: str) -> None:
    """A status webhook names a send whose answer was never recorded (the process died
    while it was in flight): the provider has it, so it is sent, not to be sent again."""
    row = conn.execute(
        "UPDATE outbox SET status = 'sent', provider_message_id = ?, attempted_at = NULL,"
        " updated_at = ? WHERE id = ? AND status = 'pending' AND attempted_at IS NOT NULL"
        " RETURNING conversation_id, message_id",
        (provider_message_id, at, outbox_id),
    ).fetchone()
    if row is None:
        return
    conversation_id, message_id = row
    if message_id is not None:
        messages.set_provider_id(conn, message_id, provider_message_id, "sent", at)
    conn.execute(
        "INSERT INTO journal (conversation_id, at, step_type, status, detail)"
        " VALUES (?, ?, 'delivery', 'send_confirmed_by_status', ?)",
        (conversation_id, at, f"outbox:{outbox_id} {provider_message_id}"),
    )


async def due(reader: Reader, now: datetime, limit: int) -> list[DueSend]:
    """Pending sends whose time has come, oldest first."""
    rows = await reader.all(
        "SELECT id, recipient, body, attempts, message_id FROM outbox"
        " WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?",
        (now.timestamp(), limit),
    )
    return [DueSend(r[0], r[1], bytes(r[2]), r[3], r[4]) for r in rows]


async def next_attempt(reader: Reader, after: datetime) -> datetime | None:
    """The earliest retry time later than `after` (sends due sooner are being handled)."""
    value = await reader.scalar(
        "SELECT min(next_attempt_at) FROM outbox WHERE status = 'pending' AND next_attempt_at > ?",
        (after.timestamp(),),
    )
    return from_ts(value)


async def is_own_send(
    reader: Reader,
    provider_ids: list[str],
    outbox_ids: list[int],
    recipient: str | None,
    text: str | None,
    since: datetime,
) -> bool:
    """Whether an outbound event echoes a send of ours: it names one of our outbox rows
    (committed before the send, so no race), or its id is one a send returned, or (for
    echoes that carry neither) the same text went to the same recipient lately."""
    if outbox_ids:
        marks = ",".join("?" * len(outbox_ids))
        hit = await reader.scalar(
            f"SELECT 1 FROM outbox WHERE id IN ({marks})"
            + (" AND recipient = ?" if recipient else "")
            + " LIMIT 1",
            [*outbox_ids, *([recipient] if recipient else [])],
        )
        if hit:
            return True
    ids = [i for i in provider_ids if i]
    if ids:
        marks = ",".join("?" * len(ids))
        hit = await reader.scalar(
            f"SELECT 1 FROM outbox WHERE provider_message_id IN ({marks}) LIMIT 1", ids
        )
        if hit:
            return True
    if recipient and text:
        hit = await reader.scalar(
            "SELECT 1 FROM outbox WHERE recipient = ? AND created_at >= ? AND text = ? LIMIT 1",
            (recipient, iso(since), text),
        )
        return bool(hit)
    return False


async def counts(reader: Reader) -> OutboxCounts:
    rows = await reader.all("SELECT status, count(*) AS n FROM outbox GROUP BY status")
    return OutboxCounts(**{r["status"]: int(r["n"]) for r in rows})
