"""Peer: the same signed webhooks against a minimal pywa bot (FastAPI, uvicorn), which
verifies and replies but persists nothing, and against the gateway with the `cloud` provider
sending its replies to the same fake Graph server. Target: the gateway >= 10x pywa's req/s.
Servers on the server core; wrk and the fake Graph server on the client core."""

from __future__ import annotations

import os

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
    run_wrk,
    warm_up,
    write_settings,
)
from bench.intake import CONVERSATIONS, REQUESTS
from bench.payloads import APP_SECRET, write_requests

SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))


def _pywa(graph: str) -> Server:
    port = free_port()
    return Server(
        [PYTHON, "-m", "bench.pywa_bot", "--port", str(port), "--graph", graph],
        f"http://127.0.0.1:{port}/healthz",
        log_name="pywa.log",
    )


def _gateway(graph: str, run: int) -> Server:
    port = free_port()
    db = WORK / f"peer-{run}.db"
    for suffix in ("", "-wal", "-shm"):
        (WORK / f"peer-{run}.db{suffix}").unlink(missing_ok=True)
    extra = (
        f'\n[whatsapp]\nprovider = "cloud"\nphone_number_id = "310000000000002"\n'
        f'graph_api_base = "{graph}/v21.0"\n'
    )
    settings = write_settings(WORK / f"peer-{run}.toml", port=port, db=db, extra=extra)
    return Server(
        [PYTHON, str(REPO / "run.py"), "--settings", str(settings)],
        f"http://127.0.0.1:{port}/healthz",
        env={"WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_TOKEN": "tok"},
    )


def run() -> list[Row]:
    WORK.mkdir(parents=True, exist_ok=True)
    requests = WORK / "intake-requests.txt"
    if not requests.exists():
        write_requests(requests, REQUESTS, CONVERSATIONS)
    gateway_rps, pywa_rps, pywa_failed = [], [], []
    for run_no in range(RUNS):
        with _graph() as graph:
            graph_url = graph.health_url.removesuffix("/healthz")
            with _pywa(graph_url) as bot:
                warm_up(bot.health_url.removesuffix("/healthz"), requests)
                result = run_wrk(
                    bot.health_url.removesuffix("/healthz"),
                    requests,
                    connections=32,
                    seconds=SECONDS,
                )
            assert result["non2xx"] == 0, result
            pywa_rps.append(result["rps"])
            pywa_failed.append(bot.log_count("Error occurred while 'reply'"))
            with _gateway(graph_url, run_no) as gateway:
                warm_up(gateway.health_url.removesuffix("/healthz"), requests)
                result = run_wrk(
                    gateway.health_url.removesuffix("/healthz"),
                    requests,
                    connections=32,
                    seconds=SECONDS,
                )
            gateway_rps.append(result["rps"])
    value, spread = median_spread(gateway_rps)
    base, base_spread = median_spread(pywa_rps)
    failed = max(pywa_failed)
    return [
        Row(
            "peer",
            f"req/s, gateway (cloud provider) vs pywa bot ({failed} pywa replies failed)",
            value,
            "req/s",
            base,
            f"pywa+FastAPI {base_spread}",
            ">= 10x pywa",
            value >= 10 * base,
            spread,
        )
    ]


def _graph() -> Server:
    port = free_port()
    server = Server(
        pinned(
            CLIENT_CORE, [PYTHON, str(REPO / "bench" / "fake_graph_server.py"), "--port", str(port)]
        ),
        f"http://127.0.0.1:{port}/healthz",
    )
    return server


if __name__ == "__main__":
    print_table(run())
