"""Seed 004's two constraints hold in the database too (SQL CHECKs on agent_sessions)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage.sqlite.migrate import migrate

ROW = {
    "id": "s1",
    "conversation_id": "c1",
    "phone_number": "1",
    "customer_name": None,
    "status": "active",
    "chat_state": "assigned",
    "agent_id": "op1",
    "last_operator_id": "op1",
    "started_by": "customer",
    "started_at": "t",
    "accepted_at": "t",
    "operator_replied_at": None,
    "expires_at": "t",
    "ended_at": None,
    "end_reason": None,
    "state_since": "t",
    "updated_at": "t",
}


def insert(conn: sqlite3.Connection, **changes: object) -> None:
    row = {**ROW, **changes}
    names = ", ".join(row)
    marks = ", ".join("?" * len(row))
    conn.execute(f"INSERT INTO agent_sessions ({names}) VALUES ({marks})", tuple(row.values()))


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(tmp_path / "c.db", isolation_level=None)
    migrate(connection)
    return connection


def test_valid_rows_are_accepted(conn: sqlite3.Connection) -> None:
    """An assigned chat with an operator, a replied chat with its reply time: accepted."""
    insert(conn)
    insert(
        conn, id="s2", chat_state="waiting_real_user_reply", agent_id=None, operator_replied_at="t"
    )
    conn.close()


@pytest.mark.parametrize(
    "changes",
    [
        {"chat_state": "assigned", "agent_id": None},
        {"chat_state": "waiting_real_user_reply", "operator_replied_at": None},
        {"chat_state": "lost"},
        {"status": "paused"},
        {"end_reason": "bored"},
    ],
)
def test_invalid_rows_are_refused(conn: sqlite3.Connection, changes: dict[str, object]) -> None:
    """assigned without an operator, waiting_real_user_reply without a reply time, or an
    unknown state: the database refuses the row."""
    with pytest.raises(sqlite3.IntegrityError):
        insert(conn, **changes)
    conn.close()
