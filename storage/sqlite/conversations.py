"""Conversations: the commit of one actor step, the snapshots, and the conversation views
(the projection columns, with the active pause and the open session joined)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

import msgspec

from storage.rows import ConversationRow, StepCommit
from storage.sqlite import aliases, archives, inbox, journal, messages, outbox, pauses, sessions
from storage.sqlite.reader import Reader
from storage.sqlite.timefmt import enc_hook, from_ts, iso, iso_or_none, parse_iso, parse_iso_or_none
from storage.views import ConversationFilter, ConversationView, Deadline, FlowPositionView

_COLUMNS = (
    "id, business_id, customer_id, phone, customer_name, mode, status, paused_until,"
    " flow_id, node_id, variables, deadlines, window_expires_at, last_inbound_at,"
    " last_activity_at, next_wakeup_at, archived_at, message_count, unread_count, snapshot,"
    " closed_reason, archive_reason, created_at, updated_at"
)
_NAMES = _COLUMNS.replace(" ", "").split(",")
_UPSERT = (
    f"INSERT INTO conversations ({_COLUMNS}) VALUES ({', '.join('?' * len(_NAMES))})"
    " ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(
        f"{c} = conversations.{c} + excluded.{c}" if c == "message_count" else f"{c} = excluded.{c}"
        for c in _NAMES
        if c not in ("id", "business_id", "customer_id", "created_at")
    )
    + ", version = conversations.version + 1"
)
_UPDATE = (
    "UPDATE conversations SET phone = ?, customer_name = ?, mode = ?, status = ?,"
    " paused_until = ?, flow_id = ?, node_id = ?, variables = ?, deadlines = ?,"
    " window_expires_at = ?, last_inbound_at = ?, last_activity_at = ?, next_wakeup_at = ?,"
    " archived_at = ?, message_count = message_count + ?, unread_count = ?, snapshot = ?,"
    " closed_reason = ?, archive_reason = ?, version = version + 1, updated_at = ? WHERE id = ?"
)
_json = msgspec.json.Encoder(enc_hook=enc_hook)
_variables = msgspec.json.Decoder(dict[str, str])
_deadlines = msgspec.json.Decoder(list[Deadline])
_tags = msgspec.json.Decoder(list[str])
_metadata = msgspec.json.Decoder(dict[str, Any])


def _changing(row: ConversationRow, now: str) -> tuple[Any, ...]:
    """The columns a step changes, in the order of _UPDATE (without the id)."""
    return (
        row.phone,
        row.customer_name,
        row.mode,
        row.status,
        iso_or_none(row.paused_until),
        row.flow_id,
        row.node_id,
        _json.encode(row.variables).decode(),
        _json.encode([(d.kind, iso(d.at)) for d in row.deadlines]).decode(),
        iso_or_none(row.window_expires_at),
        iso_or_none(row.last_inbound_at),
        iso_or_none(row.last_activity_at),
        None if row.next_wakeup_at is None else row.next_wakeup_at.timestamp(),
        iso_or_none(row.archived_at),
        row.new_messages,
        row.unread_count,
        row.snapshot,
        row.closed_reason,
        row.archive_reason,
        now,
    )


def write(conn: sqlite3.Connection, row: ConversationRow, now: str, exists: bool) -> None:
    changing = _changing(row, now)
    if exists:
        conn.execute(_UPDATE, (*changing, row.id))
        return
    conn.execute(
        _UPSERT,
        (row.id, row.business_id, row.customer_id, *changing[:-1], iso(row.created_at), now),
    )


def commit_step(conn: sqlite3.Connection, commit: StepCommit) -> None:
    """Write snapshot, messages, outbox, journal, pause, session and assignment history;
    mark the inbox row processed."""
    now = iso(commit.now)
    write(conn, commit.conversation, now, commit.exists)
    if commit.restore_archive:
        archives.restore(conn, commit.conversation.id)
    messages.insert(conn, commit.messages)
    messages.annotate(conn, commit.annotations)
    aliases.upsert(conn, commit.aliases, now)
    outbox.insert(conn, commit.outbox)
    journal.insert(conn, commit.journal)
    if commit.pause is not None:
        pauses.upsert(conn, commit.pause, now)
    elif commit.pause_cleared:
        pauses.deactivate(conn, commit.conversation.id, now)
    if commit.session is not None:
        sessions.upsert(conn, commit.session, now)
    if commit.assignments:
        sessions.log_assignments(conn, commit.assignments)
    if commit.inbox_id:
        inbox.mark_processed(conn, commit.inbox_id, now)


async def load_snapshots(reader: Reader, ids: list[str]) -> dict[str, bytes]:
    """Snapshots of the given conversations (missing ids are absent)."""
    found: dict[str, bytes] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = await reader.all(
            f"SELECT id, snapshot FROM conversations WHERE id IN ({marks})", chunk
        )
        found.update((r[0], bytes(r[1])) for r in rows)
    return found


async def wakeups(reader: Reader) -> list[tuple[str, datetime]]:
    """Every pending deadline, to rebuild the timer heap at start-up."""
    rows = await reader.conn.execute_fetchall(
        "SELECT id, next_wakeup_at FROM conversations WHERE next_wakeup_at IS NOT NULL"
    )
    return [(r[0], from_ts(r[1])) for r in rows]  # type: ignore[misc]


# The view's columns: the conversation's, then its active pause's, then its open session's.
_VIEW = (
    "SELECT c.id, c.business_id, c.customer_id, c.phone, c.customer_name, c.mode, c.status,"
    " c.flow_id, c.node_id, c.variables, c.deadlines, c.window_expires_at, c.next_wakeup_at,"
    " c.archived_at, c.tags, c.category, c.metadata, c.message_count, c.unread_count,"
    " c.last_activity_at, c.created_at, c.closed_reason, p.conversation_id IS NOT NULL,"
    f" {pauses.columns('p')}, s.id IS NOT NULL, {', '.join('s.' + c for c in sessions.FIELDS)}"
    " FROM conversations c"
    " LEFT JOIN conversation_pauses p ON p.conversation_id = c.id AND p.is_active = 1"
    " LEFT JOIN agent_sessions s ON s.conversation_id = c.id AND s.status != 'ended'"
)
_PAUSE_AT = 23
_SESSION_AT = _PAUSE_AT + pauses.WIDTH + 1


def _view(row: sqlite3.Row) -> ConversationView:
    pause = pauses.view(row, _PAUSE_AT) if row[22] else None
    session = sessions.view(row, _SESSION_AT) if row[_SESSION_AT - 1] else None
    return ConversationView(
        id=row[0],
        business_id=row[1],
        customer_id=row[2],
        phone_number=row[3],
        customer_name=row[4],
        mode=row[5],
        status=row[6],
        paused=pause is not None and pause.paused,
        pause=pause,
        session=session,
        flow=None if row[7] is None else FlowPositionView(row[7], row[8]),
        variables=_variables.decode(row[9]),
        deadlines=[Deadline(k, parse_iso(at)) for k, at in msgspec.json.decode(row[10])],
        window_expires_at=parse_iso_or_none(row[11]),
        next_wakeup_at=from_ts(row[12]),
        archived_at=parse_iso_or_none(row[13]),
        tags=_tags.decode(row[14]),
        category=row[15],
        metadata=_metadata.decode(row[16]),
        message_count=row[17],
        unread_count=row[18],
        last_activity_at=parse_iso_or_none(row[19]),
        created_at=parse_iso(row[20]),
        closed_reason=row[21],
    )


async def get(reader: Reader, conversation_id: str, now: datetime) -> ConversationView | None:
    row = await reader.one(f"{_VIEW} WHERE c.id = :id", {"id": conversation_id, "now": iso(now)})
    return None if row is None else _view(row)


async def search(
    reader: Reader, f: ConversationFilter, limit: int, offset: int, now: datetime
) -> tuple[list[ConversationView], int]:
    """Conversations matching the filter, most recently active first."""
    where: list[str] = []
    params: dict[str, Any] = {}
    for name in ("phone", "status", "mode"):
        value = getattr(f, name)
        if value is not None:
            where.append(f"c.{name} = :{name}")
            params[name] = value
    if f.tag is not None:
        where.append("EXISTS (SELECT 1 FROM json_each(c.tags) WHERE value = :tag)")
        params["tag"] = f.tag
    if f.archived is not None:
        where.append("c.archived_at IS NOT NULL" if f.archived else "c.archived_at IS NULL")
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    total = await reader.scalar(f"SELECT count(*) FROM conversations c {clause}", params)
    rows = await reader.all(
        f"{_VIEW} {clause} ORDER BY coalesce(c.last_activity_at, c.created_at) DESC, c.id"
        " LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset, "now": iso(now)},
    )
    return [_view(r) for r in rows], int(total)
