"""Intake: signed Cloud API text webhooks for many conversations through the whole path
(verify, decode, dedupe, durable commit, actor step, snapshot, reply in the outbox) against
a bare aiohttp server answering 200 to the same requests.

Peak: wrk with 32 connections, as fast as the server answers. Latency: 16 connections paced
to half the gateway's peak rate; p99 of the time to the 200 (the ack).
"""

from __future__ import annotations

import os

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
    run_wrk,
    warm_up,
    write_settings,
)
from bench.payloads import APP_SECRET, write_requests

SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
CONVERSATIONS = 20_000
REQUESTS = 250_000
PACED_CONNECTIONS = 16


def _bare() -> Server:
    port = free_port()
    return Server(
        [PYTHON, str(REPO / "bench" / "bare_server.py"), "--port", str(port)],
        f"http://127.0.0.1:{port}/healthz",
    )


def _gateway(run: int, synchronous: str = "NORMAL", loop: str = "asyncio") -> Server:
    port = free_port()
    db = WORK / f"intake-{run}.db"
    for suffix in ("", "-wal", "-shm"):
        (WORK / f"intake-{run}.db{suffix}").unlink(missing_ok=True)
    settings = write_settings(WORK / f"intake-{run}.toml", port=port, db=db)
    text = settings.read_text().replace('synchronous = "NORMAL"', f'synchronous = "{synchronous}"')
    settings.write_text(text.replace("[server]\n", f'[server]\nevent_loop = "{loop}"\n'))
    return Server(
        [PYTHON, str(REPO / "run.py"), "--settings", str(settings)],
        f"http://127.0.0.1:{port}/healthz",
        env={"WHATSAPP_APP_SECRET": APP_SECRET},
    )


def _url(server: Server) -> str:
    return server.health_url.removesuffix("/healthz")


def measure(variant: str = "NORMAL", loop: str = "asyncio") -> dict[str, list[float]]:
    WORK.mkdir(parents=True, exist_ok=True)
    requests = WORK / "intake-requests.txt"
    if not requests.exists():
        write_requests(requests, REQUESTS, CONVERSATIONS)
    out: dict[str, list[float]] = {
        k: []
        for k in ("bare_rps", "gw_rps", "gw_p99", "bare_p99", "gw_paced_rps", "bare_paced_rps")
    }
    for run in range(RUNS):
        with _bare() as bare:
            warm_up(_url(bare), requests)
            peak = run_wrk(_url(bare), requests, connections=32, seconds=SECONDS)
        out["bare_rps"].append(peak["rps"])
        with _gateway(run, variant, loop) as gateway:
            warm_up(_url(gateway), requests)
            peak = run_wrk(_url(gateway), requests, connections=32, seconds=SECONDS)
        out["gw_rps"].append(peak["rps"])
        half = peak["rps"] / 2
        delay = PACED_CONNECTIONS * 1000 / half
        with _gateway(run, variant, loop) as gateway:
            paced = run_wrk(
                _url(gateway),
                requests,
                connections=PACED_CONNECTIONS,
                seconds=SECONDS,
                delay_ms=delay,
            )
        out["gw_p99"].append(paced["p99_ms"])
        out["gw_paced_rps"].append(paced["rps"])
        with _bare() as bare:
            paced = run_wrk(
                _url(bare), requests, connections=PACED_CONNECTIONS, seconds=SECONDS, delay_ms=delay
            )
        out["bare_p99"].append(paced["p99_ms"])
        out["bare_paced_rps"].append(paced["rps"])
    return out


def run() -> list[Row]:
    rows = []
    for variant, loop in (("NORMAL", "asyncio"), ("FULL", "asyncio"), ("NORMAL", "uvloop")):
        m = measure(variant, loop)
        gw, gw_spread = median_spread(m["gw_rps"])
        bare, _ = median_spread(m["bare_rps"])
        label = f"intake sync={variant} loop={loop}"
        rows.append(
            Row(
                label,
                "req/s at peak",
                gw,
                "req/s",
                bare,
                "bare aiohttp",
                ">= 50 % of bare",
                gw / bare >= 0.5,
                gw_spread,
            )
        )
        p99, p99_spread = median_spread(m["gw_p99"])
        bare_p99, _ = median_spread(m["bare_p99"])
        paced, _ = median_spread(m["gw_paced_rps"])
        rows.append(
            Row(
                label,
                f"p99 ack at half peak ({paced:,.0f} req/s)",
                p99,
                "ms",
                bare_p99,
                "bare, same pace",
                "< 25 ms",
                p99 < 25,
                p99_spread,
            )
        )
    return rows


if __name__ == "__main__":
    print_table(run())
