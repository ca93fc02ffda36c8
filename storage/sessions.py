"""`agent_sessions`: the projection of each conversation's live-agent session, and the
queries of the sessions API, the desk and the monitoring endpoints."""

from __future__ import annotations

import sqlite3
from typing import Any

import msgspec

from storage.reader import Reader
from storage.rows import AssignmentRow, SessionRow

_COLUMNS = SessionRow.__struct_fields__
_UPSERT = (
    f"INSERT INTO agent_sessions ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
    " ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "id")
)


def upsert(conn: sqlite3.Connection, row: SessionRow) -> None:
    conn.execute(_UPSERT, msgspec.structs.astuple(row))


def log_assignments(conn: sqlite3.Connection, rows: list[AssignmentRow]) -> None:
    """`assigned` opens a row; `replied` stamps the first reply; `released` closes it."""
    for r in rows:
        if r.event == "assigned":
            conn.execute(
                "INSERT INTO chat_assignments (session_id, conversation_id, operator_id,"
                " assigned_at) VALUES (?, ?, ?, ?)",
                (r.session_id, r.conversation_id, r.operator_id, r.at),
            )
        elif r.event == "replied":
            conn.execute(
                "UPDATE chat_assignments SET first_reply_at = ? WHERE session_id = ?"
                " AND operator_id = ? AND released_at IS NULL AND first_reply_at IS NULL",
                (r.at, r.session_id, r.operator_id),
            )
        else:
            conn.execute(
                "UPDATE chat_assignments SET released_at = ?, reason = ? WHERE session_id = ?"
                " AND operator_id = ? AND released_at IS NULL",
                (r.at, r.reason, r.session_id, r.operator_id),
            )


def _dicts(rows: list[sqlite3.Row]) -> list[dict[str, Any]]:
    return [dict(r) for r in rows]


async def get(reader: Reader, session_id: str) -> dict[str, Any] | None:
    row = await reader.one("SELECT * FROM agent_sessions WHERE id = ?", (session_id,))
    return None if row is None else dict(row)


async def open_for_conversation(reader: Reader, conversation_id: str) -> dict[str, Any] | None:
    row = await reader.one(
        "SELECT * FROM agent_sessions WHERE conversation_id = ? AND status != 'ended'"
        " ORDER BY started_at DESC LIMIT 1",
        (conversation_id,),
    )
    return None if row is None else dict(row)


async def waiting(reader: Reader) -> list[dict[str, Any]]:
    """Sessions waiting for an operator, oldest first (the queue)."""
    return _dicts(
        await reader.all(
            "SELECT * FROM agent_sessions WHERE chat_state = 'waiting_assignment'"
            " ORDER BY state_since, id"
        )
    )


async def open_sessions(reader: Reader) -> list[dict[str, Any]]:
    return _dicts(
        await reader.all(
            "SELECT * FROM agent_sessions WHERE status != 'ended' ORDER BY started_at, id"
        )
    )


async def held_by(reader: Reader, operator_id: str) -> list[dict[str, Any]]:
    return _dicts(
        await reader.all(
            "SELECT * FROM agent_sessions WHERE agent_id = ? AND status != 'ended'"
            " ORDER BY started_at, id",
            (operator_id,),
        )
    )


async def history(
    reader: Reader, filters: dict[str, Any], limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Sessions newest first; `agent_id` matches any operator that handled the session;
    `started_from` / `started_before` bound started_at (ISO instants)."""
    where, params = [], {}
    if filters.get("agent_id"):
        where.append(
            "(agent_id = :agent_id OR EXISTS (SELECT 1 FROM chat_assignments a"
            " WHERE a.session_id = agent_sessions.id AND a.operator_id = :agent_id))"
        )
        params["agent_id"] = filters["agent_id"]
    if filters.get("status"):
        where.append("status = :status")
        params["status"] = filters["status"]
    if filters.get("search"):
        where.append(
            "(phone_number LIKE :search ESCAPE '\\' OR customer_name LIKE :search ESCAPE '\\')"
        )
        escaped = filters["search"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params["search"] = f"%{escaped}%"
    if filters.get("started_from"):
        where.append("started_at >= :started_from")
        params["started_from"] = filters["started_from"]
    if filters.get("started_before"):
        where.append("started_at < :started_before")
        params["started_before"] = filters["started_before"]
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    total = await reader.scalar(f"SELECT count(*) FROM agent_sessions {clause}", params)
    rows = await reader.all(
        f"SELECT * FROM agent_sessions {clause} ORDER BY started_at DESC, id DESC"
        " LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},
    )
    return _dicts(rows), int(total)


async def chat_state_counts(reader: Reader) -> dict[str, int]:
    rows = await reader.all("SELECT chat_state, count(*) FROM agent_sessions GROUP BY chat_state")
    counts = {
        s: 0 for s in ("waiting_assignment", "assigned", "waiting_real_user_reply", "completed")
    }
    counts.update({r[0]: int(r[1]) for r in rows})
    return counts


async def stuck(reader: Reader, before: str) -> list[dict[str, Any]]:
    """Open sessions that have stayed in one chat_state since before `before`."""
    return _dicts(
        await reader.all(
            "SELECT * FROM agent_sessions WHERE status != 'ended' AND state_since < ?"
            " ORDER BY state_since",
            (before,),
        )
    )


# Seconds from an assignment to the operator's first reply (NULL before it replies).
_RESPONSE = "(julianday(first_reply_at) - julianday(assigned_at)) * 86400"


async def operator_stats(reader: Reader, since: str) -> list[dict[str, Any]]:
    """Per operator, assignments since `since`: totals, completed, active, response times."""
    return _dicts(
        await reader.all(
            "SELECT operator_id, count(*) AS total_assignments,"
            " sum(released_at IS NOT NULL) AS completed, sum(released_at IS NULL) AS active,"
            f" avg({_RESPONSE}) AS avg_response_seconds,"
            f" max({_RESPONSE}) AS max_response_seconds,"
            " sum(first_reply_at IS NOT NULL) AS replied"
            " FROM chat_assignments WHERE assigned_at >= ? GROUP BY operator_id"
            " ORDER BY total_assignments DESC",
            (since,),
        )
    )


async def assignments_of(reader: Reader, session_id: str) -> list[dict[str, Any]]:
    return _dicts(
        await reader.all(
            "SELECT operator_id, assigned_at, first_reply_at, released_at, reason"
            " FROM chat_assignments WHERE session_id = ? ORDER BY id",
            (session_id,),
        )
    )
