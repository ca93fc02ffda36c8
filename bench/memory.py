"""Memory: 1M live conversations (`BENCH_MEMORY_COUNT`), each with a pending deadline, in one
process.

A child process starts the runtime on a seeded database (paused conversations: the timer
heap is rebuilt at start), then revives every conversation actor (each loads its snapshot) and
reports its resident set. The baseline is the same process started on an empty database.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import (
    PYTHON,
    RUNS,
    SERVER_CORE,
    WORK,
    Row,
    median_spread,
    pinned,
    print_table,
    rss_mb,
)
from bench.seed import seed

COUNT = int(os.environ.get("BENCH_MEMORY_COUNT", "1000000"))
TARGET_MB = 1536.0 * COUNT / 1_000_000  # 1.5 GB for 1M


async def child(db: Path) -> dict[str, float]:
    from actors.conversation.messages import Ping
    from bench.inproc import runtime_for

    runtime = runtime_for(db)
    await runtime.start()
    started = rss_mb()
    # revived by their own timers' keys, as a deadline falling due would (the same strings)
    ids = [key for key in runtime.timers.deadline_keys() if isinstance(key, str)]
    for start in range(0, len(ids), 5000):
        await asyncio.gather(*(runtime.ask(cid, Ping()) for cid in ids[start : start + 5000]))
    live = len(runtime.registry)
    result = {
        "rss_started": started,
        "rss_live": rss_mb(),
        "live": live,
        "timers": len(runtime.timers),
    }
    await runtime.stop()
    return result


def measure(db: Path) -> dict[str, float]:
    argv = pinned(SERVER_CORE, [PYTHON, "-m", "bench.memory", "child", str(db)])
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run() -> list[Row]:
    WORK.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    full, empty = WORK / f"memory-{COUNT}.db", WORK / "memory-empty.db"
    seed(full, COUNT, now, lambda i: now + timedelta(hours=1, seconds=i % 3600))
    seed(empty, 0, now, lambda i: now)
    lives, bases, per = [], [], []
    for _ in range(RUNS):
        m = measure(full)
        b = measure(empty)
        assert m["live"] == COUNT and m["timers"] >= COUNT, m  # + scheduled jobs
        lives.append(m["rss_live"])
        bases.append(b["rss_live"])
        per.append((m["rss_live"] - b["rss_live"]) * 2**20 / COUNT)
    live, spread = median_spread(lives)
    base, _ = median_spread(bases)
    bytes_each, each_spread = median_spread(per)
    return [
        Row(
            "memory",
            f"RSS, {COUNT:,} live conversations with deadlines",
            live,
            "MB",
            base,
            "same process, empty",
            f"< {TARGET_MB:,.0f} MB",
            live < TARGET_MB,
            spread,
        ),
        Row(
            "memory",
            "bytes per live conversation",
            bytes_each,
            "B",
            None,
            "",
            "",
            None,
            each_spread,
        ),
    ]


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "child":
        from gateway.logs import configure_logging

        configure_logging("warning")
        print(json.dumps(asyncio.run(child(Path(sys.argv[2])))))
    else:
        print_table(run())
