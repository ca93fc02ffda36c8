"""Flat as the data grows: the end-to-end figure of `end_to_end` (the same load, the same
measurement) on an empty database and on one already holding 1M conversations and 10M
messages (`BENCH_GROWTH_CONVERSATIONS`, 10 messages each: customer and bot text, content
JSON, raw payloads, provider ids, delivery statuses, as the gateway stores them), in the
same run, alternating. Target: the big database's figure within 10 % of the empty one's.

The big database is seeded once (about 4 GB, a few minutes) and kept in `BENCH_DIR`; each
run's webhooks add 20k conversations and their messages to it. The OS caches it (24 GB
here); the gateway's own page cache is 64 MiB, so its B-trees are far larger than that.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import RUNS, WORK, Row, median_spread, print_table
from bench.end_to_end import _gateway, _wait_quiet, run_gateway
from bench.seed import count_rows, seed_history

CONVERSATIONS = int(os.environ.get("BENCH_GROWTH_CONVERSATIONS", "1000000"))
PER_CONVERSATION = 10


def big_database() -> Path:
    path = WORK / f"growth-{CONVERSATIONS}.db"
    done = path.with_suffix(".seeded")
    if not done.exists():
        started = time.perf_counter()
        print(f"seeding {path} ...", file=sys.stderr, flush=True)
        seed_history(
            path,
            datetime.now(UTC),
            conversations=CONVERSATIONS,
            per_conversation=PER_CONVERSATION,
            phones="4471",
        )
        done.write_text(f"{time.perf_counter() - started:.0f} s\n")
    return path


def run() -> list[Row]:
    WORK.mkdir(parents=True, exist_ok=True)
    big = big_database()
    empties: list[dict[str, Any]] = []
    bigs: list[dict[str, Any]] = []
    sizes: list[tuple[int, int]] = []
    for n in range(RUNS):
        empty = WORK / "growth-empty.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{empty}{suffix}").unlink(missing_ok=True)
        _wait_quiet()
        with _gateway(empty) as gateway:
            empties.append(run_gateway(gateway, f"ge{n}"))
        sizes.append(
            (
                count_rows(big, "SELECT count(*) FROM conversations"),
                count_rows(big, "SELECT max(id) FROM messages"),
            )
        )
        _wait_quiet()
        with _gateway(big) as gateway:
            bigs.append(run_gateway(gateway, f"gb{n}"))
        e, b = empties[-1], bigs[-1]
        print(
            f"growth run {n + 1}: empty {e['e2e']:,.0f} msg/s ({e['cpu_us_per_webhook']:.0f} us,"
            f" {e['io_per_webhook']['rchar'] / 1024:.1f} KiB read per webhook); on"
            f" {sizes[-1][0]:,} conversations and {sizes[-1][1]:,} messages {b['e2e']:,.0f}"
            f" msg/s ({b['cpu_us_per_webhook']:.0f} us, {b['io_per_webhook']['rchar'] / 1024:.1f}"
            f" KiB read); non-2xx {e['non2xx'] + b['non2xx']:.0f}",
            file=sys.stderr,
            flush=True,
        )
    empty_e2e, _ = median_spread([e["e2e"] for e in empties])
    big_e2e, big_spread = median_spread([b["e2e"] for b in bigs])
    ratios = [b["e2e"] / e["e2e"] for b, e in zip(bigs, empties, strict=True)]
    convs, messages = sizes[0]
    return [
        Row(
            "growth",
            f"end to end msg/s on {convs:,} conversations and {messages:,} messages",
            big_e2e,
            "msg/s",
            empty_e2e,
            "empty database, same run",
            ">= 0.9 of empty",
            min(ratios) >= 0.9,
            f"{big_spread}; ratios {', '.join(f'{r:.2f}' for r in ratios)}",
        )
    ]


if __name__ == "__main__":
    print_table(run())
