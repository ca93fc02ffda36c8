"""Operators: people who take chats, with a role and a token stored only as its hash."""

from __future__ import annotations

import sqlite3

from storage.rows import NewOperator, OperatorChange
from storage.sqlite.reader import Reader
from storage.sqlite.timefmt import iso, parse_iso
from storage.store import EmailTaken
from storage.views import OperatorView

_FIELDS = "id, name, email, role, created_at, active"


def insert(conn: sqlite3.Connection, operator: NewOperator) -> None:
    try:
        conn.execute(
            "INSERT INTO operators (id, name, email, role, token_hash, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                operator.id,
                operator.name,
                operator.email,
                operator.role,
                operator.token_hash,
                iso(operator.created_at),
            ),
        )
    except sqlite3.IntegrityError as exc:
        if "operators.email" in str(exc):
            raise EmailTaken(operator.email) from None
        raise


def update(conn: sqlite3.Connection, change: OperatorChange) -> None:
    """Set the fields the change names (None: unchanged)."""
    conn.execute(
        "UPDATE operators SET name = coalesce(?, name), role = coalesce(?, role),"
        " active = coalesce(?, active), token_hash = coalesce(?, token_hash) WHERE id = ?",
        (
            change.name,
            change.role,
            None if change.active is None else int(change.active),
            change.token_hash,
            change.operator_id,
        ),
    )


def _view(row: sqlite3.Row) -> OperatorView:
    return OperatorView(row[0], row[1], row[2], row[3], parse_iso(row[4]), bool(row[5]))


async def by_token_hash(reader: Reader, token_hash: str) -> OperatorView | None:
    row = await reader.one(
        f"SELECT {_FIELDS} FROM operators WHERE token_hash = ? AND active = 1", (token_hash,)
    )
    return None if row is None else _view(row)


async def get(reader: Reader, operator_id: str) -> OperatorView | None:
    row = await reader.one(f"SELECT {_FIELDS} FROM operators WHERE id = ?", (operator_id,))
    return None if row is None else _view(row)


async def all_operators(reader: Reader) -> list[OperatorView]:
    rows = await reader.all(f"SELECT {_FIELDS} FROM operators ORDER BY created_at, id")
    return [_view(r) for r in rows]
