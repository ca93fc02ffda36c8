"""SIGTERM on the real process, with sends in flight to a slow Graph API: intake stops, the
sends finish and are recorded, the writer flushes, the WAL is checkpointed into the file,
and run.py exits 0 within a bounded time; after a restart nothing is sent again."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp

from tests.crash_harness import GatewayUnderTest, WebhookClient, wait_until
from tests.fake_graph import FakeGraph
from tests.sim import cloud_text

GRAPH_LATENCY = 1.5  # seconds the fake Graph API takes to answer each send
STOP_BOUND = 8.0  # seconds from SIGTERM to exit: the slowest send, the flush, the start-up


async def refused(session: aiohttp.ClientSession, gateway: GatewayUnderTest) -> bool:
    """Whether a webhook now is refused (503, or no connection): never a 200 after a stop."""
    try:
        async with session.post(gateway.base_url + "/webhooks/whatsapp", data=b"{}") as answer:
            assert answer.status != 200
            return answer.status == 503
    except (aiohttp.ClientError, OSError):
        return True


async def test_sigterm_drains_sends_in_flight_and_exits_0(
    tmp_path: Path, aiohttp_server: Any
) -> None:
    """Ten replies in flight when SIGTERM comes: all are answered and recorded as sent
    before the exit (code 0, within STOP_BOUND), the WAL is empty, and a restart sends
    none of them again."""
    graph = FakeGraph(access_token="crash-token")
    graph.latency = lambda: GRAPH_LATENCY
    server = await aiohttp_server(graph.app)
    settings = f"""
[clock]
mode = "system"
[whatsapp]
provider = "cloud"
graph_api_base = "{server.make_url("/v21.0")}"
messages_per_second = 0
[outbox]
drain_seconds = 5.0
"""
    gateway = GatewayUnderTest(tmp_path, settings, {})
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        await gateway.start(session)
        client = WebhookClient(session, gateway, random.Random(1))
        for i in range(10):
            phone = f"4477006{i:05d}"
            wamid = f"wamid.stop.{i}"
            await client.deliver(cloud_text(phone, "hi", wamid=wamid, ts=int(time.time())), wamid)
        await wait_until(lambda: len(graph.requests) == 10, 10, "ten sends in flight")
        [(pending,)] = gateway.query("SELECT count(*) FROM outbox WHERE status = 'pending'")
        assert pending == 10, "the sends are still in flight"
        began = time.monotonic()
        assert gateway.process is not None
        gateway.process.send_signal(signal.SIGTERM)
        await wait_until(lambda: refused(session, gateway), 1.0, "intake refused after SIGTERM")
        assert gateway.process.returncode is None, "refused while the sends still drain"
        code = await gateway.terminate(within=30)
        took = time.monotonic() - began
        print(f"\nSIGTERM to exit: {took:.2f} s with 10 sends in flight ({GRAPH_LATENCY} s each)")
        assert code == 0, gateway.log_tail()
        assert took < STOP_BOUND
        assert took >= GRAPH_LATENCY * 0.5, "it waited for the sends"
        wal = gateway.db_path.with_name(gateway.db_path.name + "-wal")
        assert not wal.exists() or wal.stat().st_size == 0, "the WAL was checkpointed"
        rows = gateway.query("SELECT status, attempts, attempted_at FROM outbox")
        assert rows == [("sent", 1, None)] * 10
        assert gateway.log_events("sends_cancelled_at_stop") == []

        await gateway.start(session)
        health = await gateway.health(session)
        assert health["outbox_in_flight"] == 0
        assert len(graph.requests) == 10, "nothing is sent again after the restart"
        assert gateway.log_events("sends_unconfirmed_at_start") == []
        code = await gateway.terminate(within=30)
        assert code == 0
