"""`make bench`: every benchmark, one table. BENCH_RUNS (3), BENCH_SECONDS (8) and
BENCH_ONLY (comma-separated names) adjust it."""

from __future__ import annotations

import os
import platform
import sys

from bench import (
    archive,
    end_to_end,
    growth,
    intake,
    lateness,
    mass_expiry,
    memory,
    outbound,
    overload,
    peer,
    recovery,
)
from bench.common import RUNS, Row, print_table

BENCHES = {
    "intake": intake,
    "end_to_end": end_to_end,
    "growth": growth,
    "peer": peer,
    "outbound": outbound,
    "memory": memory,
    "recovery": recovery,
    "mass_expiry": mass_expiry,
    "lateness": lateness,
    "archive": archive,
    "overload": overload,
}


def main() -> None:
    only = [n for n in os.environ.get("BENCH_ONLY", "").split(",") if n]
    rows: list[Row] = []
    for name, module in BENCHES.items():
        if only and name not in only:
            continue
        print(f"running {name}...", file=sys.stderr, flush=True)
        rows.extend(module.run())
    print(
        f"\n{os.cpu_count()} cores, {_memory_gb():.0f} GB, Python {platform.python_version()},"
        f" {platform.platform()}; medians of {RUNS} runs (spread: min..max)\n"
    )
    print_table(rows)


def _memory_gb() -> float:
    with open("/proc/meminfo") as f:
        return int(f.readline().split()[1]) / 2**20


if __name__ == "__main__":
    main()
