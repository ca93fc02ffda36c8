"""`conversation_pauses` (seed 000): a projection of each conversation's pause."""

from __future__ import annotations

import sqlite3
from typing import Any

from storage.reader import Reader
from storage.rows import PauseRow

_UPSERT = """
INSERT INTO conversation_pauses (
    conversation_id, phone_number, agent_assignee_id, agent_email, agent_name, paused_at,
    expires_at, is_active, created_at, updated_at, external_conversation_id, source
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (conversation_id) DO UPDATE SET
    phone_number = excluded.phone_number, agent_assignee_id = excluded.agent_assignee_id,
    agent_email = excluded.agent_email, agent_name = excluded.agent_name,
    paused_at = excluded.paused_at, expires_at = excluded.expires_at,
    is_active = excluded.is_active, updated_at = excluded.updated_at,
    external_conversation_id = excluded.external_conversation_id, source = excluded.source
"""

_FIELDS = (
    "conversation_id",
    "phone_number",
    "agent_assignee_id",
    "agent_email",
    "agent_name",
    "paused_at",
    "expires_at",
    "is_active",
    "external_conversation_id",
    "source",
)


def upsert(conn: sqlite3.Connection, pause: PauseRow, now: str) -> None:
    if not pause.is_active:
        conn.execute(
            "UPDATE conversation_pauses SET is_active = 0, updated_at = ?"
            " WHERE conversation_id = ?",
            (now, pause.conversation_id),
        )
        return
    conn.execute(
        _UPSERT,
        (
            pause.conversation_id,
            pause.phone_number,
            pause.agent_assignee_id,
            pause.agent_email,
            pause.agent_name,
            pause.paused_at,
            pause.expires_at,
            pause.is_active,
            now,
            now,
            pause.external_conversation_id,
            pause.source,
        ),
    )


async def get(reader: Reader, conversation_id: str) -> dict[str, Any] | None:
    row = await reader.one(
        f"SELECT {', '.join(_FIELDS)} FROM conversation_pauses WHERE conversation_id = ?",
        (conversation_id,),
    )
    return None if row is None else dict(row)


async def active(
    reader: Reader, now: str, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    where = "WHERE is_active = 1 AND expires_at > ?"
    total = await reader.scalar(f"SELECT count(*) FROM conversation_pauses {where}", (now,))
    rows = await reader.all(
        f"SELECT {', '.join(_FIELDS)} FROM conversation_pauses {where}"
        " ORDER BY expires_at LIMIT ? OFFSET ?",
        (now, limit, offset),
    )
    return [dict(r) for r in rows], int(total)


async def expired_active(reader: Reader, now: str) -> list[str]:
    """Conversations whose pause has run out but is still marked active."""
    rows = await reader.all(
        "SELECT conversation_id FROM conversation_pauses WHERE is_active = 1 AND expires_at <= ?",
        (now,),
    )
    return [r[0] for r in rows]
