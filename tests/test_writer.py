"""The group-commit writer: one transaction per batch, per-write failure isolation."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from storage.sqlite.writer import Writer
from storage.store import StoreClosed


def put(key: str, value: str) -> object:
    def write(conn: sqlite3.Connection) -> int:
        cursor = conn.execute("INSERT INTO kv (key, value) VALUES (?, ?)", (key, value))
        return int(cursor.lastrowid or 0)

    return write


async def test_everything_queued_commits_in_one_batch(tmp_path: Path) -> None:
    """Writes queued together go in one transaction; every caller gets its own result."""
    writer = Writer(str(tmp_path / "w.db"), synchronous="NORMAL")
    await writer.start()
    try:
        futures = [writer.submit(put(f"k{i}", "v")) for i in range(100)]  # type: ignore[arg-type]
        results = await asyncio.gather(*futures)
        assert len(set(results)) == 100
        assert writer.stats.batches == 1
        assert writer.stats.largest_batch == 100
    finally:
        await writer.stop()


async def test_one_failing_write_fails_only_its_caller(tmp_path: Path) -> None:
    """A constraint error rolls back that write (its savepoint) and nothing else."""
    path = tmp_path / "w.db"
    writer = Writer(str(path), synchronous="NORMAL")
    await writer.start()
    try:
        good1 = writer.submit(put("a", "1"))  # type: ignore[arg-type]
        bad = writer.submit(put("a", "2"))  # type: ignore[arg-type]
        good2 = writer.submit(put("b", "3"))  # type: ignore[arg-type]
        await good1
        with pytest.raises(sqlite3.IntegrityError):
            await bad
        await good2
    finally:
        await writer.stop()
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT key, value FROM kv ORDER BY key").fetchall()
    assert rows == [("a", "1"), ("b", "3")]


async def test_results_are_committed_before_the_future_resolves(tmp_path: Path) -> None:
    """When submit's future resolves, another connection already sees the row."""
    path = tmp_path / "w.db"
    writer = Writer(str(path), synchronous="NORMAL")
    await writer.start()
    try:
        await writer.submit(put("x", "y"))  # type: ignore[arg-type]
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT value FROM kv WHERE key = 'x'").fetchone() == ("y",)
    finally:
        await writer.stop()


async def test_stop_flushes_and_then_refuses(tmp_path: Path) -> None:
    """stop() commits what is queued; later writes raise StoreClosed."""
    writer = Writer(str(tmp_path / "w.db"), synchronous="NORMAL")
    await writer.start()
    pending = writer.submit(put("late", "1"))  # type: ignore[arg-type]
    await writer.stop()
    assert pending.done() and pending.result() > 0
    with pytest.raises(StoreClosed):
        writer.submit(put("later", "2"))  # type: ignore[arg-type]


async def test_database_is_wal_and_migrated(tmp_path: Path) -> None:
    """The file is created with its folder, in WAL mode, with every migration applied."""
    path = tmp_path / "deep" / "folder" / "w.db"
    writer = Writer(str(path))
    await writer.start()
    await writer.stop()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    assert {
        "conversations",
        "messages",
        "inbox",
        "outbox",
        "journal",
        "conversation_pauses",
        "schema_migrations",
    } <= tables
    assert versions == [1, 2, 3, 4, 5, 6, 7, 8]


async def test_migrations_apply_once(tmp_path: Path) -> None:
    """Starting twice on one file applies nothing the second time."""
    for _ in range(2):
        writer = Writer(str(tmp_path / "w.db"))
        await writer.start()
        await writer.stop()
    with sqlite3.connect(tmp_path / "w.db") as conn:
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (8,)


def test_pause_table_has_seed_columns(tmp_path: Path) -> None:
    """conversation_pauses has every column of seed 000's schema."""
    from storage.sqlite.migrate import migrate

    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    migrate(conn)
    columns = {r[1] for r in conn.execute("PRAGMA table_info(conversation_pauses)")}
    conn.close()
    assert {
        "id",
        "conversation_id",
        "phone_number",
        "agent_assignee_id",
        "agent_email",
        "agent_name",
        "paused_at",
        "expires_at",
        "is_active",
        "created_at",
        "updated_at",
    } <= columns
