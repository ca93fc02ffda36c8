"""Seeds a database with many conversations, each paused until a given instant, written the
way the gateway writes them (snapshot, query columns, pause projection)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import msgspec

from actors.conversation.keys import conversation_id
from actors.conversation.state import Pause, new_conversation
from actors.conversation.step_commit import conversation_row
from actors.conversation.views import pause_view
from storage.sqlite import conversations, pauses
from storage.sqlite.migrate import migrate
from storage.sqlite.timefmt import iso
from storage.sqlite.writer import open_write_connection
from storage.views import Deadline

BUSINESS = "310000000000002"


def seed(path: Path, count: int, now: datetime, until: Callable[[int], datetime]) -> list[str]:
    """`count` conversations created at `now`, conversation i paused until `until(i)`."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    conn = open_write_connection(str(path), "OFF")
    migrate(conn)
    at = iso(now)
    ids = []
    conn.execute("BEGIN")
    for i in range(count):
        phone = f"4479{i:08d}"
        cid = conversation_id(BUSINESS, phone)
        state = new_conversation(cid, BUSINESS, phone, now, phone, "Seeded")
        deadline = until(i)
        state = msgspec.structs.replace(
            state,
            pause=Pause(
                until=deadline,
                paused_at=now,
                agent_email="contracts@abar.app",
                external_conversation_id=f"ext{i}",
            ),
            last_inbound_at=now - timedelta(minutes=5),
            last_activity_at=now,
        )
        row = conversation_row(state, [Deadline("pause_expiry", deadline)], deadline)
        conversations.write(conn, row, at, exists=False)
        assert state.pause is not None
        pauses.upsert(conn, pause_view(state, state.pause, now), at)
        ids.append(cid)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return ids


def count_rows(path: Path, sql: str) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(sql).fetchone()[0])
