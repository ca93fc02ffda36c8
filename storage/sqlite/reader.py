"""The read-only connection (aiosqlite): API queries, snapshot loads, start-up scans."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import aiosqlite

Params = Sequence[Any] | dict[str, Any]


class Reader:
    """A read-only connection; it sees every committed write (WAL)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: aiosqlite.Connection | None = None

    async def open(self) -> None:
        uri = f"file:{self.path}?mode=ro"
        self._conn = await aiosqlite.connect(uri, uri=True)
        self._conn.row_factory = sqlite3.Row
        await self._conn.execute("PRAGMA busy_timeout=5000")

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("reader is not open")
        return self._conn

    async def all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        rows: Iterable[sqlite3.Row] = await self.conn.execute_fetchall(sql, params)
        return list(rows)

    async def one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        """The first row. Read in one call on the connection's thread: a cursor left open
        across an await would hold its read snapshot, and the reads queued meanwhile on this
        shared connection would see that older snapshot (a write committed in between
        missing from them)."""
        rows = await self.all(sql, params)
        return rows[0] if rows else None

    async def scalar(self, sql: str, params: Params = ()) -> Any:
        row = await self.one(sql, params)
        return None if row is None else row[0]
