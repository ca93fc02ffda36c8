"""Metadata merges, message status batches, history imports, sync state and job state: the
rows seed 002's maintenance writes besides the archive."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import msgspec

from storage.rows import MessageRow, MessageStatusChange, MetadataChange, SyncRow
from storage.sqlite import messages
from storage.sqlite.reader import Reader
from storage.sqlite.timefmt import iso, iso_or_none, parse_iso, parse_iso_or_none
from storage.views import (
    ConversationRef,
    JobState,
    MessageView,
    MetadataView,
    StatusBatch,
    SyncStatusView,
)

_json = msgspec.json.Encoder()
_tags = msgspec.json.Decoder(list[str])
_fields = msgspec.json.Decoder(dict[str, Any])
_result = msgspec.json.Decoder(dict[str, Any])
DELIVERY = ("sent", "delivered", "read", "failed")


def _merged(row: tuple[Any, ...], change: MetadataChange) -> tuple[str, str | None, str, Any]:
    """(tags, category, metadata) after the change, and the sentiment."""
    tags_json, category, fields_json, sentiment = row
    tags = _tags.decode(tags_json)
    for tag in change.tags or []:
        if tag not in tags:
            tags.append(tag)
    tags = [t for t in tags if t not in set(change.remove_tags or [])]
    fields = _fields.decode(fields_json)
    for key, value in (change.metadata or {}).items():
        if value is None:
            fields.pop(key, None)
        else:
            fields[key] = value
    return (
        _json.encode(sorted(tags)).decode(),
        change.category if change.category is not None else category,
        _json.encode(fields).decode(),
        change.sentiment if change.sentiment is not None else sentiment,
    )


def merge_message(
    conn: sqlite3.Connection, message_id: int, change: MetadataChange
) -> MetadataView | None:
    row = conn.execute(
        "SELECT tags, category, metadata, sentiment FROM messages WHERE id = ?", (message_id,)
    ).fetchone()
    if row is None:
        return None
    tags, category, fields, sentiment = _merged(row, change)
    conn.execute(
        "UPDATE messages SET tags = ?, category = ?, metadata = ?, sentiment = ? WHERE id = ?",
        (tags, category, fields, sentiment, message_id),
    )
    return MetadataView(_tags.decode(tags), category, sentiment, _fields.decode(fields))


def merge_conversation(
    conn: sqlite3.Connection, conversation_id: str, change: MetadataChange
) -> MetadataView | None:
    row = conn.execute(
        "SELECT tags, category, metadata, NULL, auto_archive_after_days FROM conversations"
        " WHERE id = ?",
        (conversation_id,),
    ).fetchone()
    if row is None:
        return None
    if change.sentiment is not None:
        change = msgspec.structs.replace(
            change, metadata={**(change.metadata or {}), "sentiment": change.sentiment}
        )
    tags, category, fields, _ = _merged(row[:4], change)
    days = change.auto_archive_after_days if change.auto_archive_after_days is not None else row[4]
    conn.execute(
        "UPDATE conversations SET tags = ?, category = ?, metadata = ?,"
        " auto_archive_after_days = ? WHERE id = ?",
        (tags, category, fields, days, conversation_id),
    )
    decoded = _fields.decode(fields)
    return MetadataView(_tags.decode(tags), category, decoded.get("sentiment"), decoded, days)


def update_statuses(
    conn: sqlite3.Connection, changes: list[MessageStatusChange], at: str
) -> StatusBatch:
    outcome = StatusBatch()
    for change in changes:
        if not (change.message_id.isascii() and change.message_id.isdigit()):
            outcome.failed.append((change.message_id, "not_found"))
            continue
        mid = int(change.message_id)
        row = conn.execute(
            "SELECT conversation_id, direction, sender_type, read_at FROM messages WHERE id = ?",
            (mid,),
        ).fetchone()
        if row is None:
            outcome.failed.append((change.message_id, "not_found"))
            continue
        conversation_id, direction, sender, read_at = row
        if change.delivery_status is not None:
            if direction != "out":
                outcome.failed.append((change.message_id, "delivery_status_of_inbound_message"))
                continue
            messages.merge_status_of(conn, mid, change.delivery_status, at)
        if change.read is True and read_at is None:
            conn.execute("UPDATE messages SET read_at = ? WHERE id = ?", (at, mid))
            if sender == "customer":
                outcome.read[conversation_id] = outcome.read.get(conversation_id, 0) + 1
        elif change.read is False:
            conn.execute("UPDATE messages SET read_at = NULL WHERE id = ?", (mid,))
        if change.processed is not None:
            conn.execute(
                "UPDATE messages SET processed = ? WHERE id = ?", (int(change.processed), mid)
            )
        outcome.updated.append(change.message_id)
    return outcome


def import_history(
    conn: sqlite3.Connection,
    conversation_id: str,
    rows: list[MessageRow],
    at: str,
    next_id: Callable[[], int],
) -> tuple[int, int]:
    """Messages of the provider's history: inserted when their provider id is not stored in
    the conversation (with a fresh id), updated when their text or status changed; (inserted,
    updated)."""
    inserted: list[MessageRow] = []
    updated = 0
    for row in rows:
        v = row.view
        found = conn.execute(
            "SELECT id, text, delivery_status FROM messages"
            " WHERE conversation_id = ? AND provider_message_id = ?",
            (conversation_id, v.provider_message_id),
        ).fetchone()
        if found is None:
            view = msgspec.structs.replace(v, id=str(next_id()), conversation_id=conversation_id)
            inserted.append(msgspec.structs.replace(row, view=view))
            continue
        mid, text, status = found
        changed = False
        if v.text is not None and v.text != text:
            conn.execute("UPDATE messages SET text = ? WHERE id = ?", (v.text, mid))
            changed = True
        if v.status is not None and v.status != status and v.direction == "out":
            changed |= messages.merge_status_of(conn, mid, v.status, at) > 0
        conn.execute("UPDATE messages SET last_synced_at = ? WHERE id = ?", (at, mid))
        updated += int(changed)
    messages.insert(conn, inserted)
    if inserted:
        marks = ",".join("?" * len(inserted))
        conn.execute(
            f"UPDATE messages SET last_synced_at = ? WHERE id IN ({marks})",
            (at, *(int(r.view.id) for r in inserted)),
        )
        conn.execute(
            "UPDATE conversations SET message_count = message_count + ? WHERE id = ?",
            (len(inserted), conversation_id),
        )
    return len(inserted), updated


def save_sync(conn: sqlite3.Connection, row: SyncRow) -> None:
    at = iso(row.at)
    conn.execute(
        "INSERT INTO sync_status (entity_type, entity_id, last_sync_at, sync_status,"
        " error_message, retry_count, next_retry_at, synced_count, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (entity_type, entity_id) DO UPDATE"
        " SET last_sync_at = coalesce(excluded.last_sync_at, sync_status.last_sync_at),"
        " sync_status = excluded.sync_status, error_message = excluded.error_message,"
        " retry_count = excluded.retry_count, next_retry_at = excluded.next_retry_at,"
        " synced_count = sync_status.synced_count + excluded.synced_count,"
        " updated_at = excluded.updated_at",
        (
            row.entity_type,
            row.entity_id,
            iso_or_none(row.last_sync_at),
            row.sync_status,
            row.error_message,
            row.retry_count,
            iso_or_none(row.next_retry_at),
            row.synced_count,
            at,
            at,
        ),
    )


_SYNC = (
    "SELECT entity_type, entity_id, sync_status, last_sync_at, retry_count, error_message,"
    " next_retry_at, synced_count, updated_at FROM sync_status"
)


def _sync_view(r: sqlite3.Row) -> SyncStatusView:
    return SyncStatusView(
        entity_type=r[0],
        entity_id=r[1],
        sync_status=r[2],
        last_sync_at=parse_iso_or_none(r[3]),
        retry_count=int(r[4]),
        error_message=r[5],
        next_retry_at=parse_iso_or_none(r[6]),
        synced_count=int(r[7]),
        updated_at=parse_iso(r[8]),
    )


async def sync_states(
    reader: Reader, entity_id: str | None, limit: int, offset: int
) -> tuple[list[SyncStatusView], int]:
    where, params = ("WHERE entity_id = ?", (entity_id,)) if entity_id else ("", ())
    rows = await reader.all(
        f"{_SYNC} {where} ORDER BY updated_at DESC, entity_id LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    total = await reader.scalar(f"SELECT count(*) FROM sync_status {where}", params)
    return [_sync_view(r) for r in rows], int(total)


def save_job(conn: sqlite3.Connection, job: JobState, at: str) -> None:
    conn.execute(
        "INSERT INTO jobs (name, next_run_at, last_run_at, last_result, last_duration_seconds,"
        " last_error, runs, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET next_run_at = excluded.next_run_at,"
        " last_run_at = excluded.last_run_at, last_result = excluded.last_result,"
        " last_duration_seconds = excluded.last_duration_seconds,"
        " last_error = excluded.last_error, runs = excluded.runs, updated_at = excluded.updated_at",
        (
            job.name,
            iso_or_none(job.next_run_at),
            iso_or_none(job.last_run_at),
            None if job.last_result is None else _json.encode(job.last_result).decode(),
            job.last_duration_seconds,
            job.last_error,
            job.runs,
            at,
        ),
    )


async def jobs(reader: Reader) -> list[JobState]:
    rows = await reader.all(
        "SELECT name, next_run_at, last_run_at, last_result, last_duration_seconds, last_error,"
        " runs FROM jobs ORDER BY name"
    )
    return [
        JobState(
            name=r[0],
            next_run_at=parse_iso_or_none(r[1]),
            last_run_at=parse_iso_or_none(r[2]),
            last_result=None if r[3] is None else _result.decode(r[3]),
            last_duration_seconds=r[4],
            last_error=r[5],
            runs=int(r[6]),
        )
        for r in rows
    ]


async def conversation_refs(reader: Reader, after: str, limit: int) -> list[ConversationRef]:
    """Conversations in id order after `after`: to walk them all, a page at a time."""
    rows = await reader.all(
        "SELECT id, business_id, phone, last_activity_at, archived_at FROM conversations"
        " WHERE id > ? ORDER BY id LIMIT ?",
        (after, limit),
    )
    return [
        ConversationRef(r[0], r[1], r[2], parse_iso_or_none(r[3]), r[4] is not None) for r in rows
    ]


async def unanalyzed(reader: Reader, after_id: int, limit: int) -> list[MessageView]:
    """Customer messages with text and no sentiment yet, in id order after `after_id`."""
    rows = await reader.all(
        f"SELECT {messages.VIEW_COLUMNS} FROM messages WHERE id > ? AND sender_type = 'customer'"
        " AND sentiment IS NULL AND text IS NOT NULL ORDER BY id LIMIT ?",
        (after_id, limit),
    )
    return [messages.view(r) for r in rows]
