"""The Graph API misbehaving, end to end through the fake Graph server: Retry-After is
honoured, a timeout and a refused connection are retried and lose nothing, and a permanent
refusal (131026, 131047, an invalid recipient) is recorded on the message, where the agent
reading the session sees it. (Backoff on 429/5xx and the code tables are in
tests/test_outbox.py and tests/test_cloud_provider.py.)"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from gateway.settings import OutboxSettings
from tests.conftest import MakeSim
from tests.fake_graph import FakeGraph
from tests.sim import Sim, make_operator, session_of
from tests.test_outbox import ENVIRON, MENU, PHONE, bot_message, cloud_settings


async def graph_sim(
    make_sim: MakeSim, db_path: Any, graph: FakeGraph, url: str, **outbox: Any
) -> Sim:
    settings = cloud_settings(db_path, url, outbox=OutboxSettings(max_attempts=4, **outbox))
    return await make_sim(settings, environ=ENVIRON)


async def test_retry_after_is_honoured(
    make_sim: MakeSim, aiohttp_server: Any, db_path: Any
) -> None:
    """A 429 with `Retry-After: 7` is retried after 7 s, not after the 1 s backoff."""
    graph = FakeGraph(access_token="tok")
    server = await aiohttp_server(graph.app)
    sim = await graph_sim(make_sim, db_path, graph, str(server.make_url("/v21.0")))
    graph.fail_next(status=429, retry_after=7)
    await sim.customer_says(PHONE, "hi")
    await sim.advance(timedelta(seconds=6.9))
    assert len(graph.requests) == 1
    await sim.advance(timedelta(seconds=0.1))
    assert graph.sent_texts() == [MENU]
    assert (await bot_message(sim))["status"] == "sent"


async def test_a_timeout_is_retried_and_the_reply_goes(
    make_sim: MakeSim, aiohttp_server: Any, db_path: Any
) -> None:
    """A Graph API that does not answer within `request_timeout_seconds`: the send is
    retried after the backoff and goes through. (The timed-out request may have reached
    Meta: this is the one case where the customer can get a reply twice; see
    docs/reliability.md.)"""
    graph = FakeGraph(access_token="tok")
    graph.latency = lambda: 5.0
    server = await aiohttp_server(graph.app)
    url = str(server.make_url("/v21.0"))
    sim = await graph_sim(make_sim, db_path, graph, url, request_timeout_seconds=0.2)
    await sim.customer_says(PHONE, "hi")
    assert (await bot_message(sim))["status"] == "pending"
    graph.latency = None
    await sim.advance(timedelta(seconds=1))
    assert len(graph.requests) == 2
    assert (await bot_message(sim))["status"] == "sent"
    assert ("delivery", "send_failed") not in await sim.journey(PHONE)


async def test_a_refused_connection_loses_nothing(
    make_sim: MakeSim, aiohttp_server: Any, db_path: Any, unused_tcp_port: int
) -> None:
    """Nothing listens where the Graph API should be: every reply waits, retried with
    backoff (1 s, 4 s...); when it is back they all go, once each, in order."""
    graph = FakeGraph(access_token="tok")
    url = f"http://127.0.0.1:{unused_tcp_port}/v21.0"
    sim = await graph_sim(make_sim, db_path, graph, url)
    await sim.customer_says(PHONE, "hi")
    await sim.customer_says(PHONE, "hello")
    await sim.advance(timedelta(seconds=1))  # the first retry: still refused
    server = TestServer(graph.app, port=unused_tcp_port)
    await server.start_server()
    try:
        await sim.advance(timedelta(seconds=4))
        assert graph.sent_texts() == [MENU, MENU]
        assert [m["status"] for m in await sim.messages(PHONE) if m["sender_type"] == "bot"] == [
            "sent",
            "sent",
        ]
    finally:
        await server.close()


@pytest.mark.parametrize(
    ("status", "code", "detail"),
    [
        (400, 131026, "Message undeliverable"),
        (400, 131047, "Re-engagement message"),
        (400, 100, "Invalid parameter"),  # the recipient is not a valid WhatsApp number
    ],
)
async def test_a_permanent_refusal_is_shown_to_the_agent(
    make_sim: MakeSim, aiohttp_server: Any, db_path: Any, status: int, code: int, detail: str
) -> None:
    """An agent's message that the Graph API refuses for good is not retried; the session's
    messages (what the agent's dashboard reads) carry `failed`, the code and the reason."""
    graph = FakeGraph(access_token="tok")
    server = await aiohttp_server(graph.app)
    sim = await graph_sim(make_sim, db_path, graph, str(server.make_url("/v21.0")))
    agent = await make_operator(sim, "Noa")
    await sim.customer_taps(PHONE, "AGENT_MODE", "Talk to Expert")
    session = await session_of(sim, PHONE)
    await agent.api("POST", f"/api/agent/sessions/{session['id']}/assign", body={})
    graph.fail_next(status=status, code=code, message=detail)
    sent = await agent.reply(session["id"], "Your parcel left today.")
    await sim.advance(timedelta(hours=1))
    transcript = await agent.api("GET", f"/api/agent/sessions/{session['id']}/messages")
    [message] = [m for m in transcript["items"] if m["id"] == sent["id"]]
    assert (message["status"], message["error_code"]) == ("failed", code)
    assert detail in message["error"]
    assert [r.text for r in graph.requests].count("Your parcel left today.") == 1
