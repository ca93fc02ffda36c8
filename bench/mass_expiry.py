"""Mass expiry: 100k deadlines falling due at once (virtual clock), handled and committed.

A child process starts the runtime on a database of 100k conversations paused until the
same instant, with the virtual clock just before it, and times `advance` past it: every
conversation is revived from its snapshot, steps (the pause expires, journaled), and
commits. The baseline is the SQLite floor: one plain loop in one transaction rewriting those
100k conversation rows and adding a journal row for each (no actors, no Python step).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import PYTHON, RUNS, SERVER_CORE, WORK, Row, median_spread, pinned, print_table
from bench.seed import count_rows, seed

COUNT = 100_000


def _rewrite_all(conn: sqlite3.Connection, ids: list[str], at: str) -> None:
    """The storage floor: rewrite each conversation's row (its snapshot) and add one journal
    row, in one transaction, from a plain loop: what expiring them costs SQLite alone."""
    for cid in ids:
        conn.execute(
            "UPDATE conversations SET snapshot = snapshot || x'', updated_at = ?,"
            " next_wakeup_at = NULL WHERE id = ?",
            (at, cid),
        )
        conn.execute(
            "INSERT INTO journal (conversation_id, at, step_type, status)"
            " VALUES (?, ?, 'bench', 'floor')",
            (cid, at),
        )


async def child(db: Path, mode: str) -> dict[str, float]:
    from actors.runtime.clock import VirtualClock
    from bench.inproc import runtime_for
    from run import settle_garbage_collector

    due = datetime.fromisoformat(Path(f"{db}.due").read_text())  # noqa: ASYNC240 (start-up)
    if mode == "floor":
        return _floor(db, due)
    clock = VirtualClock(due - timedelta(seconds=1))
    runtime = runtime_for(db, clock=clock, passivate_after=1e9)
    await runtime.start()
    settle_garbage_collector()  # as run.py does once started
    start = time.perf_counter()
    await runtime.advance_to(due + timedelta(seconds=1), clock.set)
    elapsed = time.perf_counter() - start
    timers = len(runtime.timers)
    await runtime.stop()
    return {"seconds": elapsed, "timers_left": timers}


def _floor(db: Path, due: datetime) -> dict[str, float]:
    """The same rows rewritten by one plain connection, as the gateway's writer opens it."""
    from storage.sqlite.writer import open_write_connection

    conn = open_write_connection(str(db), "FULL")
    ids = [row[0] for row in conn.execute("SELECT id FROM conversations")]
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    _rewrite_all(conn, ids, due.isoformat())
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return {"seconds": elapsed, "timers_left": 0}


def measure(db: Path, mode: str) -> dict[str, float]:
    argv = pinned(SERVER_CORE, [PYTHON, "-m", "bench.mass_expiry", "child", str(db), mode])
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run() -> list[Row]:
    WORK.mkdir(parents=True, exist_ok=True)
    db = WORK / "mass-expiry.db"
    expiry, floor = [], []
    for _ in range(RUNS):
        now = datetime.now(UTC).replace(microsecond=0)
        due = now + timedelta(hours=1)
        seed(db, COUNT, now, lambda _i, due=due: due)
        Path(f"{db}.due").write_text(due.isoformat())
        m = measure(db, "expiry")
        expired = count_rows(db, "SELECT count(*) FROM journal WHERE status = 'pause_expired'")
        active = count_rows(db, "SELECT count(*) FROM conversation_pauses WHERE is_active = 1")
        assert expired == COUNT and active == 0, (expired, active, m)  # jobs keep their timers
        expiry.append(m["seconds"])
        floor.append(measure(db, "floor")["seconds"])
    value, spread = median_spread(expiry)
    base, _ = median_spread(floor)
    return [
        Row(
            "mass expiry",
            f"{COUNT:,} due at once, handled and committed",
            value,
            "s",
            base,
            "SQLite floor: same rows, one loop",
            "< 5 s",
            value < 5,
            spread,
        )
    ]


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[1] == "child":
        from gateway.logs import configure_logging

        configure_logging("warning")
        print(json.dumps(asyncio.run(child(Path(sys.argv[2]), sys.argv[3]))))
    else:
        print_table(run())
