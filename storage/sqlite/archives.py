"""Archived conversations: their messages moved, exactly as they were, into
`message_archives` (one row per chunk of at most 1000 messages, gzip when compressed), and
moved back by an unarchive. A chunk moves only while the conversation is archived, so an
unarchive that comes between two chunks stops the job for it."""

from __future__ import annotations

import gzip
import sqlite3
from datetime import datetime, timedelta
from typing import Any

import msgspec

from storage.sqlite.reader import Reader
from storage.sqlite.timefmt import iso, parse_iso, parse_iso_or_none
from storage.store import ARCHIVE_CHUNK
from storage.views import ArchiveCandidate, ArchiveView

CHUNK = ARCHIVE_CHUNK
_encode = msgspec.json.Encoder()


class _Body(msgspec.Struct):
    columns: list[str]
    rows: list[list[Any]]


_decode = msgspec.json.Decoder(_Body)


def move_chunk(
    conn: sqlite3.Connection, conversation_id: str, compress: bool, at: str, limit: int = CHUNK
) -> tuple[int, int]:
    """Move the oldest `limit` messages of an archived conversation into one archive row;
    (messages moved, bytes stored). Nothing moves if the conversation is not archived."""
    found = conn.execute(
        "SELECT archive_reason FROM conversations WHERE id = ? AND archived_at IS NOT NULL",
        (conversation_id,),
    ).fetchone()
    if found is None:
        return 0, 0
    cursor = conn.execute(
        "SELECT * FROM messages WHERE conversation_id = ? ORDER BY id LIMIT ?",
        (conversation_id, limit),
    )
    columns = [d[0] for d in cursor.description]
    rows = [list(r) for r in cursor.fetchall()]
    if not rows:
        return 0, 0
    body = _encode.encode(_Body(columns, rows))
    if compress:
        body = gzip.compress(body, compresslevel=6)
    first, last = rows[0][columns.index("id")], rows[-1][columns.index("id")]
    conn.execute(
        "INSERT INTO message_archives (conversation_id, first_message_id, last_message_id,"
        " message_count, archived_at, archive_reason, compressed, body, bytes)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (conversation_id, first, last, len(rows), at, found[0], int(compress), body, len(body)),
    )
    conn.execute(
        "DELETE FROM messages WHERE conversation_id = ? AND id BETWEEN ? AND ?",
        (conversation_id, first, last),
    )
    conn.execute(
        "UPDATE conversations SET message_count = max(0, message_count - ?) WHERE id = ?",
        (len(rows), conversation_id),
    )
    return len(rows), len(body)


def restore(conn: sqlite3.Connection, conversation_id: str) -> int:
    """Every archived message of the conversation back in `messages`, with its id and every
    column as it was (columns added since are left to their defaults); returns how many."""
    current = {r[1] for r in conn.execute("PRAGMA table_info(messages)")}
    restored = 0
    parts = conn.execute(
        "SELECT id, compressed, body FROM message_archives WHERE conversation_id = ?"
        " ORDER BY first_message_id",
        (conversation_id,),
    ).fetchall()
    for part_id, compressed, raw in parts:
        body = _decode.decode(gzip.decompress(raw) if compressed else raw)
        kept = [i for i, name in enumerate(body.columns) if name in current]
        names = ", ".join(body.columns[i] for i in kept)
        marks = ", ".join("?" * len(kept))
        conn.executemany(
            f"INSERT INTO messages ({names}) VALUES ({marks})",
            [[row[i] for i in kept] for row in body.rows],
        )
        conn.execute("DELETE FROM message_archives WHERE id = ?", (part_id,))
        restored += len(body.rows)
    if restored:
        conn.execute(
            "UPDATE conversations SET message_count = message_count + ? WHERE id = ?",
            (restored, conversation_id),
        )
    return restored


def remove_older_than(conn: sqlite3.Connection, before: str, dry_run: bool) -> tuple[int, int]:
    """Archives past the retention: (archive rows, bytes) removed, or that would be."""
    count, size = conn.execute(
        "SELECT count(*), coalesce(sum(bytes), 0) FROM message_archives WHERE archived_at < ?",
        (before,),
    ).fetchone()
    if not dry_run and count:
        conn.execute("DELETE FROM message_archives WHERE archived_at < ?", (before,))
    return int(count), int(size)


_LIST = (
    "SELECT c.id, c.phone, c.customer_name, c.archived_at, c.archive_reason,"
    " coalesce(sum(a.message_count), 0), count(a.id), coalesce(sum(a.bytes), 0),"
    " coalesce(max(a.compressed), 0), min(a.archived_at)"
    " FROM conversations c LEFT JOIN message_archives a ON a.conversation_id = c.id"
    " WHERE c.archived_at IS NOT NULL GROUP BY c.id ORDER BY c.archived_at DESC, c.id"
    " LIMIT ? OFFSET ?"
)


async def archived(reader: Reader, limit: int, offset: int) -> tuple[list[ArchiveView], int]:
    """The archived conversations, most recently archived first, with their archive's size."""
    rows = await reader.all(_LIST, (limit, offset))
    total = await reader.scalar("SELECT count(*) FROM conversations WHERE archived_at IS NOT NULL")
    return [
        ArchiveView(
            conversation_id=r[0],
            phone_number=r[1],
            customer_name=r[2],
            archived_at=parse_iso(r[3]),
            archive_reason=r[4],
            message_count=int(r[5]),
            parts=int(r[6]),
            bytes=int(r[7]),
            compressed=bool(r[8]),
            first_part_at=parse_iso_or_none(r[9]),
        )
        for r in rows
    ], int(total)


def candidates(
    conn: sqlite3.Connection,
    now: datetime,
    age_days: float,
    inactive_days: float,
    completed: bool,
    limit: int,
) -> list[ArchiveCandidate]:
    """Conversations due for archiving, by seed 002's criteria: older than their
    `auto_archive_after_days` (else `age_days`), inactive for `inactive_days`, or closed
    (`completed`). Never one with an open session; 0 turns a criterion off."""
    found: dict[str, ArchiveCandidate] = {}
    base = (
        "SELECT c.id FROM conversations c WHERE c.archived_at IS NULL AND NOT EXISTS"
        " (SELECT 1 FROM agent_sessions s WHERE s.conversation_id = c.id AND s.status != 'ended')"
    )
    queries: list[tuple[str, str, tuple[Any, ...]]] = []
    if age_days > 0:
        queries.append((
            "age",
            " AND c.created_at < strftime('%Y-%m-%dT%H:%M:%fZ', ?,"
            " '-' || coalesce(c.auto_archive_after_days, ?) || ' days')",
            (iso(now), age_days),
        ))  # fmt: skip
    else:
        queries.append((
            "age",
            " AND c.auto_archive_after_days IS NOT NULL AND c.created_at <"
            " strftime('%Y-%m-%dT%H:%M:%fZ', ?, '-' || c.auto_archive_after_days || ' days')",
            (iso(now),),
        ))  # fmt: skip
    if inactive_days > 0:
        cutoff = iso(now - timedelta(days=inactive_days))
        queries.append(("inactivity", " AND c.last_activity_at < ?", (cutoff,)))
    if completed:
        queries.append(("completed", " AND c.status = 'closed'", ()))
    for reason, where, params in queries:
        rows = conn.execute(f"{base}{where} ORDER BY c.id LIMIT ?", (*params, limit)).fetchall()
        for (cid,) in rows:
            found.setdefault(cid, ArchiveCandidate(cid, reason))  # type: ignore[arg-type]
        if len(found) >= limit:
            break
    return list(found.values())[:limit]
