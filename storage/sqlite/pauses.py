"""`conversation_pauses` (seed 000): the projection of each conversation's pause."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from storage.sqlite.reader import Reader
from storage.sqlite.timefmt import iso, parse_iso
from storage.views import PauseView

_UPSERT = """
INSERT INTO conversation_pauses (
    conversation_id, phone_number, agent_assignee_id, agent_email, agent_name, paused_at,
    expires_at, is_active, created_at, updated_at, external_conversation_id, source, paused_by
) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)
ON CONFLICT (conversation_id) DO UPDATE SET
    phone_number = excluded.phone_number, agent_assignee_id = excluded.agent_assignee_id,
    agent_email = excluded.agent_email, agent_name = excluded.agent_name,
    paused_at = excluded.paused_at, expires_at = excluded.expires_at,
    is_active = 1, updated_at = excluded.updated_at,
    external_conversation_id = excluded.external_conversation_id, source = excluded.source,
    paused_by = excluded.paused_by
"""

_NAMES = (
    "conversation_id",
    "phone_number",
    "is_active",
    "expires_at",
    "paused_at",
    "source",
    "agent_email",
    "agent_name",
    "agent_assignee_id",
    "external_conversation_id",
    "paused_by",
)


def columns(table: str = "") -> str:
    """The columns `view` reads, in order; `paused` is decided against the `:now` parameter."""
    prefix = f"{table}." if table else ""
    return ", ".join(
        f"{prefix}is_active AND {prefix}expires_at > :now" if n == "is_active" else prefix + n
        for n in _NAMES
    )


COLUMNS = columns()
WIDTH = len(_NAMES)


def upsert(conn: sqlite3.Connection, pause: PauseView, now: str) -> None:
    conn.execute(
        _UPSERT,
        (
            pause.conversation_id,
            pause.phone_number or "",
            pause.agent_assignee_id,
            pause.agent_email,
            pause.agent_name,
            iso(pause.paused_at),
            iso(pause.expires_at),
            now,
            now,
            pause.external_conversation_id,
            pause.source,
            pause.by,
        ),
    )


def deactivate(conn: sqlite3.Connection, conversation_id: str, now: str) -> None:
    conn.execute(
        "UPDATE conversation_pauses SET is_active = 0, updated_at = ? WHERE conversation_id = ?",
        (now, conversation_id),
    )


def view(row: sqlite3.Row | tuple[object, ...], at: int = 0) -> PauseView:
    """The PauseView in `row` from column `at` on, in the order of `columns()`."""
    r = tuple(row)[at : at + len(_NAMES)]
    return PauseView(
        conversation_id=str(r[0]),
        phone_number=r[1] or None,
        paused=bool(r[2]),
        expires_at=parse_iso(str(r[3])),
        paused_at=parse_iso(str(r[4])),
        source=r[5] or "agent",
        agent_email=r[6],
        agent_name=r[7],
        agent_assignee_id=r[8],
        external_conversation_id=r[9],
        by=r[10],
    )


async def active(
    reader: Reader, now: datetime, limit: int, offset: int
) -> tuple[list[PauseView], int]:
    where = "WHERE is_active = 1 AND expires_at > :now"
    params = {"now": iso(now), "limit": limit, "offset": offset}
    total = await reader.scalar(f"SELECT count(*) FROM conversation_pauses {where}", params)
    rows = await reader.all(
        f"SELECT {COLUMNS} FROM conversation_pauses {where}"
        " ORDER BY expires_at LIMIT :limit OFFSET :offset",
        params,
    )
    return [view(r) for r in rows], int(total)


async def expired_active(reader: Reader, now: datetime) -> list[str]:
    """Conversations whose pause has run out but is still marked active."""
    rows = await reader.all(
        "SELECT conversation_id FROM conversation_pauses WHERE is_active = 1 AND expires_at <= ?",
        (iso(now),),
    )
    return [r[0] for r in rows]
