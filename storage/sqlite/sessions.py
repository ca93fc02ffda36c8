"""`agent_sessions`: the projection of each conversation's live-agent session, and the
queries of the sessions API, the desk and the monitoring endpoints."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from storage.rows import AssignmentRow
from storage.sqlite.reader import Reader
from storage.sqlite.timefmt import iso, iso_or_none, parse_iso, parse_iso_or_none
from storage.views import AssignmentView, OperatorStats, SessionFilter, SessionView

FIELDS = SessionView.__struct_fields__
COLUMNS = ", ".join(FIELDS)
_UPSERT = (
    f"INSERT INTO agent_sessions ({COLUMNS}, updated_at)"
    f" VALUES ({', '.join('?' * len(FIELDS))}, ?)"
    " ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in (*FIELDS, "updated_at") if c != "id")
)
_TIMES = frozenset(
    {"started_at", "accepted_at", "operator_replied_at", "expires_at", "ended_at", "state_since"}
)
_REQUIRED_TIMES = frozenset({"started_at", "expires_at", "state_since"})


def upsert(conn: sqlite3.Connection, session: SessionView, now: str) -> None:
    values = [
        iso_or_none(getattr(session, f)) if f in _TIMES else getattr(session, f) for f in FIELDS
    ]
    conn.execute(_UPSERT, (*values, now))


def view(row: Sequence[Any], at: int = 0) -> SessionView:
    """The SessionView in `row` from column `at` on, in the order of COLUMNS."""
    values: dict[str, Any] = {}
    for i, name in enumerate(FIELDS):
        value = row[at + i]
        if name in _REQUIRED_TIMES:
            value = parse_iso(value)
        elif name in _TIMES:
            value = parse_iso_or_none(value)
        values[name] = value
    return SessionView(**values)


def log_assignments(conn: sqlite3.Connection, rows: list[AssignmentRow]) -> None:
    """`assigned` opens a row; `replied` stamps the first reply; `released` closes it."""
    for r in rows:
        at = iso(r.at)
        if r.event == "assigned":
            conn.execute(
                "INSERT INTO chat_assignments (session_id, conversation_id, operator_id,"
                " assigned_at) VALUES (?, ?, ?, ?)",
                (r.session_id, r.conversation_id, r.operator_id, at),
            )
        elif r.event == "replied":
            conn.execute(
                "UPDATE chat_assignments SET first_reply_at = ? WHERE session_id = ?"
                " AND operator_id = ? AND released_at IS NULL AND first_reply_at IS NULL",
                (at, r.session_id, r.operator_id),
            )
        else:
            conn.execute(
                "UPDATE chat_assignments SET released_at = ?, reason = ? WHERE session_id = ?"
                " AND operator_id = ? AND released_at IS NULL",
                (at, r.reason, r.session_id, r.operator_id),
            )


async def _views(reader: Reader, where: str, params: Sequence[Any] = ()) -> list[SessionView]:
    rows = await reader.all(f"SELECT {COLUMNS} FROM agent_sessions {where}", params)
    return [view(r) for r in rows]


async def get(reader: Reader, session_id: str) -> SessionView | None:
    found = await _views(reader, "WHERE id = ?", (session_id,))
    return found[0] if found else None


async def waiting(reader: Reader) -> list[SessionView]:
    """Sessions waiting for an operator, oldest first (the queue)."""
    return await _views(reader, "WHERE chat_state = 'waiting_assignment' ORDER BY state_since, id")


async def open_sessions(reader: Reader) -> list[SessionView]:
    return await _views(reader, "WHERE status != 'ended' ORDER BY started_at, id")


async def held_by(reader: Reader, operator_id: str) -> list[SessionView]:
    return await _views(
        reader, "WHERE agent_id = ? AND status != 'ended' ORDER BY started_at, id", (operator_id,)
    )


async def history(
    reader: Reader, f: SessionFilter, limit: int, offset: int
) -> tuple[list[SessionView], int]:
    """Sessions newest first; `agent_id` matches any operator that handled the session."""
    where: list[str] = []
    params: dict[str, Any] = {}
    if f.agent_id:
        where.append(
            "(agent_id = :agent_id OR EXISTS (SELECT 1 FROM chat_assignments a"
            " WHERE a.session_id = agent_sessions.id AND a.operator_id = :agent_id))"
        )
        params["agent_id"] = f.agent_id
    if f.readable_by:
        where.append(
            "(CASE WHEN agent_id IS NOT NULL THEN agent_id = :reader"
            " WHEN chat_state = 'waiting_assignment' OR status = 'ended' THEN 1"
            " ELSE last_operator_id IS :reader END)"
        )
        params["reader"] = f.readable_by
    if f.status:
        where.append("status = :status")
        params["status"] = f.status
    if f.search:
        where.append(
            "(phone_number LIKE :search ESCAPE '\\' OR customer_name LIKE :search ESCAPE '\\')"
        )
        escaped = f.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params["search"] = f"%{escaped}%"
    if f.started_from is not None:
        where.append("started_at >= :started_from")
        params["started_from"] = iso(f.started_from)
    if f.started_before is not None:
        where.append("started_at < :started_before")
        params["started_before"] = iso(f.started_before)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    total = await reader.scalar(f"SELECT count(*) FROM agent_sessions {clause}", params)
    found = await _views(
        reader,
        f"{clause} ORDER BY started_at DESC, id DESC LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},  # type: ignore[arg-type]
    )
    return found, int(total)


async def chat_state_counts(reader: Reader) -> dict[str, int]:
    rows = await reader.all("SELECT chat_state, count(*) FROM agent_sessions GROUP BY chat_state")
    counts = {
        s: 0 for s in ("waiting_assignment", "assigned", "waiting_real_user_reply", "completed")
    }
    counts.update({r[0]: int(r[1]) for r in rows})
    return counts


async def stuck(reader: Reader, before: datetime) -> list[SessionView]:
    """Open sessions that have stayed in one chat_state since before `before`."""
    return await _views(
        reader, "WHERE status != 'ended' AND state_since < ? ORDER BY state_since", (iso(before),)
    )


# Seconds from an assignment to the operator's first reply (NULL before it replies).
_RESPONSE = "(julianday(first_reply_at) - julianday(assigned_at)) * 86400"


async def operator_stats(reader: Reader, since: datetime) -> list[OperatorStats]:
    """Per operator, assignments since `since`: totals, completed, active, response times."""
    rows = await reader.all(
        "SELECT operator_id, count(*), sum(released_at IS NOT NULL), sum(released_at IS NULL),"
        f" sum(first_reply_at IS NOT NULL), avg({_RESPONSE}), max({_RESPONSE})"
        " FROM chat_assignments WHERE assigned_at >= ? GROUP BY operator_id"
        " ORDER BY count(*) DESC, operator_id",
        (iso(since),),
    )
    return [
        OperatorStats(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4]), r[5], r[6]) for r in rows
    ]


async def assignments_of(reader: Reader, session_id: str) -> list[AssignmentView]:
    rows = await reader.all(
        "SELECT operator_id, assigned_at, first_reply_at, released_at, reason"
        " FROM chat_assignments WHERE session_id = ? ORDER BY id",
        (session_id,),
    )
    return [
        AssignmentView(
            r[0], parse_iso(r[1]), parse_iso_or_none(r[2]), parse_iso_or_none(r[3]), r[4]
        )
        for r in rows
    ]
