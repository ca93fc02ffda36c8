"""The single writer: one thread owns the write connection; everything queued goes into
one transaction (group commit), and every caller's future resolves after the COMMIT."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from storage.sqlite.migrate import migrate
from storage.store import StoreClosed, StoreUnavailable

T = TypeVar("T")
WriteFn = Callable[[sqlite3.Connection], T]
# SQLite's primary result codes for faults that pass: BUSY, LOCKED, IOERR, FULL, PROTOCOL.
_TRANSIENT = frozenset({5, 6, 10, 13, 15})


@dataclass(slots=True)
class _Op:
    fn: WriteFn[Any]
    future: asyncio.Future[Any]


@dataclass(slots=True)
class WriterStats:
    batches: int = 0
    writes: int = 0
    largest_batch: int = 0
    failed_writes: int = 0
    last_batch_sizes: deque[int] = field(default_factory=lambda: deque(maxlen=256))


def open_write_connection(path: str, synchronous: str) -> sqlite3.Connection:
    """Open (creating the folder and file if missing) in WAL mode, autocommit off to us."""
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    # Takes effect on a new file only (before its first table): then a cleanup can give
    # freed pages back to the file system a few at a time, without a full VACUUM.
    conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("PRAGMA cache_size=-65536")  # 64 MiB of page cache for the writer
    return conn


def _named(exc: BaseException) -> BaseException:
    """A fault of the database that passes becomes StoreUnavailable (the core and the edge
    know no sqlite3); anything else (a constraint, a bug) stays what it is."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(exc, sqlite3.OperationalError) and code is not None and code & 0xFF in _TRANSIENT:
        named = StoreUnavailable(str(exc))
        named.__cause__ = exc
        return named
    return exc


def _close(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


class Writer:
    """Submit a function of the write connection; get its result once it is committed.

    One failing write (a constraint, a bug) fails only its own caller; the others in the
    batch still commit. A write must be safe to run twice in one transaction attempt (the
    batch is replayed after a rollback), which plain SQL writes are.
    """

    def __init__(
        self, path: str, *, synchronous: Literal["FULL", "NORMAL"] = "FULL", max_batch: int = 2000
    ) -> None:
        self.path = path
        self._synchronous = synchronous
        self._max_batch = max_batch
        self._queue: deque[_Op] = deque()
        self._wakeup = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._conn: sqlite3.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False
        self.stats = WriterStats()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def idle(self) -> bool:
        return not self._queue and self._in_flight == 0

    @property
    def backlog(self) -> int:
        return len(self._queue)

    async def start(self) -> None:
        """Open the database, apply migrations, start the commit loop."""
        loop = asyncio.get_running_loop()
        self._conn = await loop.run_in_executor(
            self._executor, open_write_connection, self.path, self._synchronous
        )
        await loop.run_in_executor(self._executor, migrate, self._conn)
        self._task = loop.create_task(self._loop(), name="sqlite-writer")

    def submit(self, fn: WriteFn[T]) -> asyncio.Future[T]:
        """Queue `fn(conn)`; the future resolves with its result after COMMIT."""
        if self._closed:
            raise StoreClosed(self.path)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append(_Op(fn, future))
        self._idle.clear()
        self._wakeup.set()
        return future

    async def wait_idle(self) -> None:
        while not self.idle:
            await self._idle.wait()

    async def stop(self) -> None:
        """Refuse new writes, commit what is queued, checkpoint the WAL into the database
        file (so that the file alone is a complete copy), close the connection."""
        self._closed = True
        if self._task is not None:
            self._wakeup.set()
            while self._queue or self._in_flight:
                await self._idle.wait()
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await asyncio.get_running_loop().run_in_executor(self._executor, _close, conn)
        self._executor.shutdown(wait=True)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                self._idle.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = [self._queue.popleft() for _ in range(min(len(self._queue), self._max_batch))]
            self._in_flight = len(batch)
            try:
                outcomes = await loop.run_in_executor(self._executor, self._commit, batch)
            except Exception as exc:  # the COMMIT itself failed: nothing of the batch stands
                outcomes = [(False, exc)] * len(batch)
            finally:
                self._in_flight = 0
            self._record(len(batch), outcomes)
            for op, (ok, value) in zip(batch, outcomes, strict=True):
                if op.future.done():
                    continue
                if ok:
                    op.future.set_result(value)
                else:
                    op.future.set_exception(_named(value))

    def _commit(self, batch: list[_Op]) -> list[tuple[bool, Any]]:
        """Runs in the writer thread: the whole batch in one transaction. If a write fails,
        the batch is rolled back and run again with a savepoint per write, so that only the
        failing write fails (the common path pays for no savepoints)."""
        conn = self._conn
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")
        try:
            outcomes: list[tuple[bool, Any]] = [(True, op.fn(conn)) for op in batch]
            conn.execute("COMMIT")
            return outcomes
        except Exception:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return self._commit_isolated(conn, batch)

    @staticmethod
    def _commit_isolated(conn: sqlite3.Connection, batch: list[_Op]) -> list[tuple[bool, Any]]:
        outcomes: list[tuple[bool, Any]] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            for op in batch:
                conn.execute("SAVEPOINT w")
                try:
                    value = op.fn(conn)
                except Exception as exc:
                    if not conn.in_transaction:
                        # SQLite rolled the whole transaction back itself (a full disk, an
                        # I/O error): nothing of the batch stands, and running on would
                        # commit the rest statement by statement.
                        return [(False, exc)] * len(batch)
                    conn.execute("ROLLBACK TO w")
                    conn.execute("RELEASE w")
                    outcomes.append((False, exc))
                else:
                    conn.execute("RELEASE w")
                    outcomes.append((True, value))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return outcomes

    def _record(self, size: int, outcomes: list[tuple[bool, Any]]) -> None:
        stats = self.stats
        stats.batches += 1
        stats.writes += size
        stats.largest_batch = max(stats.largest_batch, size)
        stats.failed_writes += sum(1 for ok, _ in outcomes if not ok)
        stats.last_batch_sizes.append(size)
