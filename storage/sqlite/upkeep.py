"""Retention and statistics: archives past their retention, orphaned rows and old
processed inbox rows removed in chunks (each a short write, so webhooks are never held back
for long), then `PRAGMA optimize` and an incremental vacuum; and the database's numbers."""

from __future__ import annotations

import sqlite3

from storage.sqlite.reader import Reader
from storage.sqlite.timefmt import parse_iso_or_none
from storage.views import DatabaseStats

CHUNK = 1000
VACUUM_PAGES = 2000  # pages given back to the file system per write
TABLES = (
    "conversations",
    "messages",
    "message_archives",
    "inbox",
    "outbox",
    "journal",
    "conversation_pauses",
    "agent_sessions",
    "chat_assignments",
    "customer_aliases",
    "operators",
    "sync_status",
    "jobs",
    "kv",
)
# What an orphan is, per table: a row whose conversation is not stored.
_NO_CONVERSATION = "conversation_id NOT IN (SELECT id FROM conversations)"
ORPHANS = {
    "messages": _NO_CONVERSATION,
    "journal": f"conversation_id IS NOT NULL AND {_NO_CONVERSATION}",
    "outbox": f"{_NO_CONVERSATION} AND status != 'pending'",
}
INBOX_OLD = "processed_at IS NOT NULL AND processed_at < ?"
ARCHIVES_OLD = "archived_at < ?"


def count(conn: sqlite3.Connection, table: str, where: str, params: tuple[str, ...] = ()) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {table} WHERE {where}", params).fetchone()[0])


def delete_chunk(
    conn: sqlite3.Connection, table: str, where: str, params: tuple[str, ...] = ()
) -> int:
    """Delete at most CHUNK rows matching `where`; how many went."""
    cursor = conn.execute(
        f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} WHERE {where} LIMIT ?)",
        (*params, CHUNK),
    )
    return cursor.rowcount


def archive_bytes(conn: sqlite3.Connection, before: str) -> int:
    found = conn.execute(
        f"SELECT coalesce(sum(bytes), 0) FROM message_archives WHERE {ARCHIVES_OLD}", (before,)
    ).fetchone()
    return int(found[0])


def pages(conn: sqlite3.Connection) -> tuple[int, int, int]:
    """(page size, page count, free pages)."""
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    total = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    return int(size), int(total), int(free)


def optimize(conn: sqlite3.Connection) -> None:
    """Refresh the planner's statistics where they are stale."""
    conn.execute("PRAGMA optimize")


def vacuum_step(conn: sqlite3.Connection) -> int:
    """Give up to VACUUM_PAGES free pages back to the file system; how many were free before
    (0: nothing left, or the file was made before incremental vacuum was on)."""
    mode = conn.execute("PRAGMA auto_vacuum").fetchone()[0]
    free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    if mode != 2 or free == 0:  # 2 = incremental
        return 0
    conn.execute(f"PRAGMA incremental_vacuum({VACUUM_PAGES})").fetchall()
    return free


def incremental(conn: sqlite3.Connection) -> bool:
    return bool(conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2)


async def stats(reader: Reader) -> DatabaseStats:
    tables = {t: int(await reader.scalar(f"SELECT count(*) FROM {t}")) for t in TABLES}
    size = int(await reader.scalar("PRAGMA page_size"))
    total = int(await reader.scalar("PRAGMA page_count"))
    free = int(await reader.scalar("PRAGMA freelist_count"))
    # by id (no index on created_at; ids grow with time)
    oldest = await reader.scalar("SELECT created_at FROM messages ORDER BY id LIMIT 1")
    newest = await reader.scalar("SELECT created_at FROM messages ORDER BY id DESC LIMIT 1")
    archive = await reader.one(
        "SELECT coalesce(sum(bytes), 0), coalesce(sum(message_count), 0),"
        " count(DISTINCT conversation_id) FROM message_archives"
    )
    assert archive is not None
    return DatabaseStats(
        tables=tables,
        file_bytes=size * total,
        page_size=size,
        page_count=total,
        free_pages=free,
        oldest_message_at=parse_iso_or_none(oldest),
        newest_message_at=parse_iso_or_none(newest),
        archive_bytes=int(archive[0]),
        archived_messages=int(archive[1]),
        archived_conversations=int(archive[2]),
    )
