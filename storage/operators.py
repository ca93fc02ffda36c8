"""Operators: people who take chats, with a role and a token stored only as its hash."""

from __future__ import annotations

import sqlite3
from typing import Any

from storage.reader import Reader

_FIELDS = "id, name, email, role, active, created_at"


def insert(
    conn: sqlite3.Connection,
    operator_id: str,
    name: str,
    email: str,
    role: str,
    token_hash: str,
    created_at: str,
) -> None:
    conn.execute(
        "INSERT INTO operators (id, name, email, role, token_hash, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (operator_id, name, email, role, token_hash, created_at),
    )


async def by_token_hash(reader: Reader, token_hash: str) -> dict[str, Any] | None:
    row = await reader.one(
        f"SELECT {_FIELDS} FROM operators WHERE token_hash = ? AND active = 1", (token_hash,)
    )
    return None if row is None else dict(row)


async def get(reader: Reader, operator_id: str) -> dict[str, Any] | None:
    row = await reader.one(f"SELECT {_FIELDS} FROM operators WHERE id = ?", (operator_id,))
    return None if row is None else dict(row)


async def by_email(reader: Reader, email: str) -> dict[str, Any] | None:
    row = await reader.one(f"SELECT {_FIELDS} FROM operators WHERE email = ?", (email,))
    return None if row is None else dict(row)


async def all_operators(reader: Reader) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in await reader.all(f"SELECT {_FIELDS} FROM operators ORDER BY created_at, id")
    ]
