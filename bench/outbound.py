"""Outbound: do replies keep pace with the webhooks, at the pace WhatsApp allows?

The gateway (cloud provider) runs on the server core; on the client core, a fake Graph API
that answers every send after 200 ms (and records when each arrived) and an open-loop
driver sending signed text webhooks at 300 a second; every webhook owes one reply (the
bot's menu). RSS is read from /proc every second.

- **pace 1,000/s** (`[whatsapp] messages_per_second = 1000`), 20 s of load, each webhook
  from a new customer (20k phones): the replies are sent as fast as they are produced; the
  figure is the time from the end of the load to the last owed reply's arrival at the fake
  Graph (target <= 2 s), and the baseline the webhooks' own rate.
- **pace 80/s** (the default), 60 s of load over 3,000 customers (each writes every 10 s,
  so the live conversations stop growing after 10 s), which produces replies at 300/s: they leave
  at 80/s (target within 5 %), measured over the load after its first 10 s; the rest waits
  in the outbox table (`gateway_outbox_rows{status="pending"}` at the end), and RSS stays
  flat: RSS at the end of the load against RSS 10 s in (target: within 10 %).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import (
    CLIENT_CORE,
    PYTHON,
    REPO,
    RUNS,
    WORK,
    Row,
    Server,
    free_port,
    median_spread,
    pinned,
    print_table,
    rss_mb,
    write_settings,
)
from bench.end_to_end import wait_drained
from bench.openloop import Load, summary
from bench.payloads import APP_SECRET, BUSINESS

RATE = 300.0
GRAPH_DELAY_MS = 200.0
CUSTOMERS = 20_000  # the fast load: one webhook each
SLOW_CUSTOMERS = 3_000  # the slow load: each writes every 10 s, the actors stop growing
FAST_SECONDS, SLOW_SECONDS = 20.0, 60.0
SETTLE_SECONDS = 10.0  # the start of the slow load not counted in its rate
JOBS_OFF = '\n[jobs]\ncleanup = ""\narchive = ""\nsync = ""\nmetadata = ""\n'


def _graph() -> Server:
    port = free_port()
    argv = [PYTHON, str(REPO / "bench" / "fake_graph_server.py"), "--port", str(port)]
    argv += ["--delay-ms", str(GRAPH_DELAY_MS)]
    return Server(
        pinned(CLIENT_CORE, argv), f"http://127.0.0.1:{port}/healthz", log_name="graph.log"
    )


def _gateway(graph: str, pace: float, run: str) -> Server:
    port = free_port()
    db = WORK / f"outbound-{run}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    extra = (
        f'\n[whatsapp]\nprovider = "cloud"\nphone_number_id = "{BUSINESS}"\n'
        f'graph_api_base = "{graph}/v21.0"\nmessages_per_second = {pace}\n{JOBS_OFF}'
    )
    settings = write_settings(WORK / f"outbound-{run}.toml", port=port, db=db, extra=extra)
    return Server(
        [PYTHON, str(REPO / "run.py"), "--settings", str(settings)],
        f"http://127.0.0.1:{port}/healthz",
        env={"WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_TOKEN": "tok"},
        log_name=f"outbound-{run}.log",
    )


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def _outbox_rows(url: str) -> dict[str, float]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
        text = response.read().decode()
    rows: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("gateway_outbox_rows{"):
            status = line.split('status="', 1)[1].split('"', 1)[0]
            rows[status] = float(line.rsplit(" ", 1)[1])
    return rows


async def _sample_rss(pid: int, stop: asyncio.Event, into: list[tuple[float, float]]) -> None:
    while not stop.is_set():
        into.append((time.time(), rss_mb(pid)))
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except TimeoutError:
            pass


async def _load(url: str, pid: int, seconds: float, prefix: str, customers: int) -> dict[str, Any]:
    rss: list[tuple[float, float]] = []
    connector = aiohttp.TCPConnector(limit=1024)
    async with aiohttp.ClientSession(connector=connector) as http:
        load = Load(http, url, prefix, rate=RATE, customers=customers, phones="4477")
        stop = asyncio.Event()
        sampler = asyncio.create_task(_sample_rss(pid, stop, rss))
        started = time.time()
        await load.for_seconds(seconds)
        ended = time.time()
        stop.set()
        await sampler
    return {"start": started, "end": ended, "acks": summary(load.samples), "rss": rss}


def _drained(gateway_url: str, graph_url: str) -> dict[str, Any]:
    """Waits as the end-to-end bench does (inbox processed, nothing parked, queued, in
    flight or pending); then the fake Graph's arrivals."""
    wait_drained(gateway_url, timeout=120.0)
    return {"graph": _get(f"{graph_url}/stats"), "rows": _outbox_rows(gateway_url)}


def fast(run: int) -> dict[str, Any]:
    with _graph() as graph:
        graph_url = graph.health_url.removesuffix("/healthz")
        with _gateway(graph_url, 1000.0, f"fast{run}") as gw:
            url = gw.health_url.removesuffix("/healthz")
            assert gw.proc is not None
            load = asyncio.run(_load(url, gw.proc.pid, FAST_SECONDS, f"of{run}x", CUSTOMERS))
            after = _drained(url, graph_url)
    arrivals = sorted(after["graph"]["arrivals"])
    owed = sum(after["rows"].values())
    sent = after["rows"].get("sent", 0)
    last = arrivals[-1] if arrivals else load["end"]
    during = sum(1 for a in arrivals if a <= load["end"]) / (load["end"] - load["start"])
    return {
        "lag": max(0.0, last - load["end"]),
        "owed": owed,
        "sent": sent,
        "arrived": len(arrivals),
        "acked": load["acks"]["n"] - load["acks"]["errors"],
        "errors": load["acks"]["errors"],
        "webhook_rps": load["acks"]["rps"],
        "sent_rps_during": during,
        "most_in_flight": after["graph"]["most_in_flight"],
        "p99_ack": load["acks"]["p99"],
    }


def slow(run: int) -> dict[str, Any]:
    with _graph() as graph:
        graph_url = graph.health_url.removesuffix("/healthz")
        with _gateway(graph_url, 80.0, f"slow{run}") as gw:
            url = gw.health_url.removesuffix("/healthz")
            assert gw.proc is not None
            load = asyncio.run(_load(url, gw.proc.pid, SLOW_SECONDS, f"os{run}x", SLOW_CUSTOMERS))
            rows = _outbox_rows(url)
            stats = _get(f"{graph_url}/stats")
    counted_from = load["start"] + SETTLE_SECONDS
    arrivals = [a for a in stats["arrivals"] if counted_from <= a <= load["end"]]
    rss = load["rss"]
    settled = [mb for t, mb in rss if t >= counted_from]
    return {
        "sent_rps": len(arrivals) / (load["end"] - counted_from),
        "rss_settled": settled[0],
        "rss_end": settled[-1],
        "rss_peak": max(mb for _, mb in rss),
        "rss_start": rss[0][1],
        "pending_end": rows.get("pending", 0),
        "acked": load["acks"]["n"] - load["acks"]["errors"],
        "errors": load["acks"]["errors"],
        "p99_ack": load["acks"]["p99"],
    }


def run() -> list[Row]:
    WORK.mkdir(parents=True, exist_ok=True)
    here = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {int(CLIENT_CORE)})  # the driver beside wrk's usual core
    try:
        fasts = [fast(n) for n in range(RUNS)]
        slows = [slow(n) for n in range(RUNS)]
    finally:
        os.sched_setaffinity(0, here)
    for n, f in enumerate(fasts):
        print(f"outbound fast run {n + 1}: {json.dumps(f)}", flush=True)
    for n, s in enumerate(slows):
        print(f"outbound slow run {n + 1}: {json.dumps(s)}", flush=True)
    lag, lag_spread = median_spread([f["lag"] for f in fasts])
    webhooks, _ = median_spread([f["webhook_rps"] for f in fasts])
    sent_during, sent_during_spread = median_spread([f["sent_rps_during"] for f in fasts])
    unsent = max(f["owed"] - f["sent"] for f in fasts)
    pace, pace_spread = median_spread([s["sent_rps"] for s in slows])
    end, end_spread = median_spread([s["rss_end"] for s in slows])
    settled, _ = median_spread([s["rss_settled"] for s in slows])
    pending, pending_spread = median_spread([s["pending_end"] for s in slows])
    errors = sum(f["errors"] for f in fasts) + sum(s["errors"] for s in slows)
    return [
        Row(
            "outbound, pace 1000/s",
            f"replies/s sent during the load (Graph answers in {GRAPH_DELAY_MS:.0f} ms)",
            sent_during,
            "msg/s",
            webhooks,
            "webhooks/s acked, same run",
            "as produced",
            sent_during >= 0.95 * webhooks,
            sent_during_spread,
        ),
        Row(
            "outbound, pace 1000/s",
            f"last reply after the end of a {FAST_SECONDS:.0f} s load",
            lag,
            "s",
            None,
            "",
            "<= 2 s",
            lag <= 2.0 and unsent == 0,
            f"{lag_spread}; replies owed and not sent: {unsent:.0f}",
        ),
        Row(
            "outbound, pace 80/s",
            f"replies/s sent, {RATE:.0f} webhooks/s for {SLOW_SECONDS:.0f} s",
            pace,
            "msg/s",
            80.0,
            "the pace",
            "within 5 %",
            abs(pace / 80.0 - 1) <= 0.05,
            pace_spread,
        ),
        Row(
            "outbound, pace 80/s",
            f"RSS at the end of the load (pending in the table: {pending:,.0f})",
            end,
            "MiB",
            settled,
            f"RSS {SETTLE_SECONDS:.0f} s in",
            "within 10 %",
            end <= 1.1 * settled,
            f"{end_spread}; pending {pending_spread}",
        ),
        Row(
            "outbound",
            "non-2xx answers and errors, all runs",
            errors,
            "",
            target="0",
            met=errors == 0,
        ),
    ]


if __name__ == "__main__":
    print_table(run())
