"""Recovery: restart on a database of 100k conversations with deadlines; the time from
process start until the timers are re-armed and intake answers (`/healthz` 200 comes
only after the heap is rebuilt and the inbox replayed; then one webhook is acknowledged).
The baseline is the same start on an empty database."""

from __future__ import annotations

import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import (
    PYTHON,
    REPO,
    RUNS,
    WORK,
    Row,
    Server,
    free_port,
    median_spread,
    print_table,
    write_settings,
)
from bench.payloads import APP_SECRET, text_webhook
from bench.seed import seed
from gateway.signature import sign

COUNT = 100_000


def _start(db: Path) -> float:
    """Seconds from spawning the process to the first acknowledged webhook."""
    port = free_port()
    settings = write_settings(WORK / "recovery.toml", port=port, db=db)
    raw = text_webhook("447000000001", f"wamid.rec{time.time_ns()}", int(time.time()), "hi")
    start = time.perf_counter()
    with Server(
        [PYTHON, str(REPO / "run.py"), "--settings", str(settings)],
        f"http://127.0.0.1:{port}/healthz",
        env={"WHATSAPP_APP_SECRET": APP_SECRET},
    ):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/webhooks/whatsapp",
            data=raw,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": sign(raw, APP_SECRET),
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
        elapsed = time.perf_counter() - start
    return elapsed


def run() -> list[Row]:
    WORK.mkdir(parents=True, exist_ok=True)
    full, empty = WORK / "recovery-100k.db", WORK / "recovery-empty.db"
    now = datetime.now(UTC)
    seed(full, COUNT, now, lambda i: now + timedelta(hours=2, seconds=i % 7200))
    seed(empty, 0, now, lambda i: now)
    fulls, empties = [], []
    for _ in range(RUNS):
        fulls.append(_start(full))
        empties.append(_start(empty))
    value, spread = median_spread(fulls)
    base, _ = median_spread(empties)
    return [
        Row(
            "recovery",
            f"start to first ack, {COUNT:,} deadlines re-armed",
            value,
            "s",
            base,
            "empty database",
            "< 3 s",
            value < 3,
            spread,
        )
    ]


if __name__ == "__main__":
    print_table(run())
