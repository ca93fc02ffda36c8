"""The messages of a conversation, in and out, and their delivery status."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import msgspec

from storage.content import Content, MessageReaction, Referral
from storage.rows import Annotation, MessageRow, StatusRow
from storage.sqlite.reader import Reader
from storage.sqlite.timefmt import enc_hook, iso, parse_iso, parse_iso_or_none
from storage.views import MessageView

_INSERT = (
    "INSERT INTO messages (id, conversation_id, direction, sender_type, sender_id, kind, text,"
    " payload, provider_message_id, delivery_status, processed, created_at, session_id,"
    " content, reply_to, forwarded, referral)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_VIEW = (
    "id, conversation_id, session_id, direction, sender_type, sender_id, kind, text,"
    " created_at, delivery_status, provider_message_id, error_code, error_detail, read_at,"
    " content, reply_to, forwarded, referral, reactions, edited_at, previous_text, deleted_at"
)
VIEW_COLUMNS = _VIEW
_json = msgspec.json.Encoder(enc_hook=enc_hook)
_content = msgspec.json.Decoder(Content)
_referral = msgspec.json.Decoder(Referral)
_reactions = msgspec.json.Decoder(list[MessageReaction])

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


_MERGE_BY_ID = _MERGE.split(" WHERE ")[0] + (
    f" WHERE id = :mid AND direction = 'out' AND ({_RANK_SQL}) < :rank"
)


def merge_status_of(conn: sqlite3.Connection, message_id: int, status: str, at: str) -> int:
    """One outbound message's delivery status, moved forward only (as the webhooks do)."""
    cursor = conn.execute(
        _MERGE_BY_ID,
        {"status": status, "at": at, "code": None, "detail": None, "mid": message_id,
         "rank": RANK.get(status, 0)},
    )  # fmt: skip
    return cursor.rowcount


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
                None if v.content is None else _json.encode(v.content).decode(),
                v.reply_to,
                int(v.forwarded),
                None if v.referral is None else _json.encode(v.referral).decode(),
            )
            for r in rows
            for v in (r.view,)
        ],
    )


def annotate(conn: sqlite3.Connection, changes: list[Annotation]) -> None:
    """Reactions, deletions and edits of earlier messages, found by their provider id in the
    same conversation (a change to a message not stored changes nothing)."""
    for change in changes:
        at = iso(change.at)
        where = " WHERE conversation_id = ? AND provider_message_id = ?"
        target = (change.conversation_id, change.provider_message_id)
        if change.change == "revoke":
            conn.execute(f"UPDATE messages SET deleted_at = ?{where}", (at, *target))
        elif change.change == "edit" and change.text is None:
            # an edit whose new text did not come (an unknown shape): marked, text kept
            conn.execute(f"UPDATE messages SET edited_at = ?{where}", (at, *target))
        elif change.change == "edit":
            conn.execute(
                "UPDATE messages SET previous_text = text, text = ?, edited_at = ?,"
                " content = CASE WHEN json_extract(content, '$.type') = 'text'"
                " THEN json_set(content, '$.body', ?) ELSE content END" + where,
                (change.text, at, change.text, *target),
            )
        else:
            row = conn.execute(f"SELECT reactions FROM messages{where}", target).fetchone()
            if row is None:
                continue
            kept = [r for r in _reactions.decode(row[0]) if r.by != change.by]
            if change.emoji:
                kept.append(MessageReaction(change.emoji, change.by, change.at))
            conn.execute(
                f"UPDATE messages SET reactions = ?{where}", (_json.encode(kept).decode(), *target)
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
    """The largest message id ever given, archived messages included (they come back with
    their ids, so no new message may take one)."""
    row = conn.execute(
        "SELECT max(coalesce((SELECT max(id) FROM messages), 0),"
        " coalesce((SELECT max(last_message_id) FROM message_archives), 0))"
    ).fetchone()
    return int(row[0])


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
        error=row[12],
        read_at=parse_iso_or_none(row[13]),
        content=_stored_content(row[14]),
        reply_to=row[15],
        forwarded=bool(row[16]),
        referral=None if row[17] is None else _referral.decode(row[17]),
        reactions=_reactions.decode(row[18]),
        edited_at=parse_iso_or_none(row[19]),
        previous_text=row[20],
        deleted_at=parse_iso_or_none(row[21]),
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


def _stored_content(raw: str | bytes | None) -> Content | None:
    """The stored structure; one that no longer decodes (written by an older version, or
    damaged) is shown as its readable text alone, never as an error."""
    if raw is None:
        return None
    try:
        return _content.decode(raw)
    except msgspec.ValidationError:
        return None


async def before(
    reader: Reader, conversation_id: str, until: datetime, limit: int
) -> list[MessageView]:
    """The last `limit` messages of the conversation outside any session, up to `until`,
    oldest first: what the customer and the bot said before a session started."""
    rows = await reader.all(
        f"SELECT {_VIEW} FROM messages WHERE conversation_id = ? AND session_id IS NULL"
        " AND created_at <= ? ORDER BY id DESC LIMIT ?",
        (conversation_id, iso(until), limit),
    )
    return [view(r) for r in reversed(rows)]


async def for_session(reader: Reader, session_id: str) -> list[MessageView]:
    rows = await reader.all(
        f"SELECT {_VIEW} FROM messages WHERE session_id = ? ORDER BY id", (session_id,)
    )
    return [view(r) for r in rows]
