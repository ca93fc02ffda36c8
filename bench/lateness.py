"""Lateness: 10k deadlines spread over a minute, under moderate intake load, system clock:
how late each fires (the timer calls the actor) and how late it is handled (the pause is
cleared and committed). The baseline is asyncio itself: 10k bare `loop.call_at` callbacks
at the same instants, in the same process, under the same load."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import statistics
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from aiohttp import web

from bench.common import (
    CLIENT_CORE,
    REPO,
    SERVER_CORE,
    WORK,
    Row,
    ensure_wrk,
    free_port,
    pinned,
    print_table,
)
from bench.payloads import APP_SECRET, write_requests

COUNT = 10_000
SPREAD_SECONDS = 60.0
LEAD_SECONDS = 8.0
LOAD_CONNECTIONS = 4
LOAD_DELAY_MS = 10.0  # about 4 x 100 = 400 webhooks/s: moderate, a quarter of the peak


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure() -> dict[str, float]:
    from bench.seed import seed
    from gateway.app import create_app
    from gateway.context import GATEWAY
    from gateway.logs import configure_logging
    from gateway.settings import BotSettings, Settings, StorageSettings

    configure_logging("warning")
    db = WORK / "lateness.db"
    now = datetime.now(UTC)
    first = now + timedelta(seconds=LEAD_SECONDS)
    step = SPREAD_SECONDS / COUNT
    deadlines = [first + timedelta(seconds=i * step) for i in range(COUNT)]
    seed(db, COUNT, now, lambda i: deadlines[i])
    settings = Settings(
        storage=StorageSettings(path=str(db), synchronous="NORMAL"),
        bot=BotSettings(flows_dir=str(REPO / "flows")),
    )
    app = create_app(settings, environ={"WHATSAPP_APP_SECRET": APP_SECRET})
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    runtime = app[GATEWAY].runtime
    from collections import deque

    runtime.timers.lateness = deque(maxlen=COUNT * 2)
    loop = asyncio.get_running_loop()
    bare: list[float] = []
    for deadline in deadlines:
        delay = (deadline - datetime.now(UTC)).total_seconds()
        loop.call_later(
            delay, lambda d=deadline: bare.append((datetime.now(UTC) - d).total_seconds())
        )
    requests = WORK / "lateness-requests.txt"
    if not requests.exists():
        write_requests(requests, 60_000, 5_000, prefix="late")
    load_seconds = int(LEAD_SECONDS + SPREAD_SECONDS + 2)
    wrk = await asyncio.create_subprocess_exec(
        *pinned(
            CLIENT_CORE,
            [
                ensure_wrk(),
                "-t1",
                f"-c{LOAD_CONNECTIONS}",
                f"-d{load_seconds}s",
                "-s",
                str(REPO / "bench" / "webhook.lua"),
                f"http://127.0.0.1:{port}",
                "--",
                str(requests),
                str(LOAD_DELAY_MS),
            ],
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, _ = await wrk.communicate()
    await asyncio.sleep(max(0.0, (deadlines[-1] - datetime.now(UTC)).total_seconds() + 2))
    await runtime.wait_idle()
    fired = list(runtime.timers.lateness)
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT j.at, p.expires_at FROM journal j JOIN conversation_pauses p"
            " ON p.conversation_id = j.conversation_id WHERE j.status = 'pause_expired'"
        ).fetchall()
    handled = [
        (
            datetime.fromisoformat(a.replace("Z", "+00:00"))
            - datetime.fromisoformat(e.replace("Z", "+00:00"))
        ).total_seconds()
        for a, e in rows
    ]
    load = [line for line in out.decode().splitlines() if line.startswith("JSON ")]
    await runner.cleanup()
    return {
        "fired": len(fired),
        "handled": len(handled),
        "fired_p50": percentile(fired, 0.5) * 1000,
        "fired_p99": percentile(fired, 0.99) * 1000,
        "fired_max": max(fired) * 1000,
        "handled_p99": percentile(handled, 0.99) * 1000,
        "handled_max": max(handled) * 1000,
        "bare_p99": percentile(bare, 0.99) * 1000,
        "load": float(load[0].split('"requests": ')[1].split(",")[0]) / load_seconds if load else 0,
        "mean_fired": statistics.mean(fired) * 1000,
    }


def run() -> list[Row]:
    WORK.mkdir(parents=True, exist_ok=True)
    argv = pinned(SERVER_CORE, [sys.executable, "-m", "bench.lateness", "child"])
    done = subprocess.run(
        argv, capture_output=True, text=True, check=True, cwd=REPO, env={**os.environ}
    )
    import json

    m = json.loads(done.stdout.strip().splitlines()[-1])
    assert m["fired"] == COUNT and m["handled"] == COUNT, m
    load = f"{COUNT:,} over {SPREAD_SECONDS:.0f} s, {m['load']:,.0f} webhooks/s"
    return [
        Row(
            "lateness",
            f"p99 fire lateness ({load})",
            m["fired_p99"],
            "ms",
            m["bare_p99"],
            "bare loop.call_at",
            "< 50 ms",
            m["fired_p99"] < 50,
            f"p50 {m['fired_p50']:.1f} max {m['fired_max']:.1f}",
        ),
        Row(
            "lateness",
            "p99 handled (pause cleared, committed)",
            m["handled_p99"],
            "ms",
            m["bare_p99"],
            "bare loop.call_at",
            "",
            None,
            f"max {m['handled_max']:.1f}",
        ),
    ]


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        import json

        print(json.dumps(asyncio.run(measure())))
    else:
        print_table(run())
