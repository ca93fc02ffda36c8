"""The runtime around the actors: many conversations at once, passivation and revival,
back-pressure, health, metrics, logs with the conversation id."""

from __future__ import annotations

import asyncio
import json

import pytest
import structlog

from actors.conversation.keys import conversation_id
from gateway.signature import sign
from tests.sim import APP_SECRET, BUSINESS, Sim, cloud_text, wati_message


async def test_many_conversations_at_once_group_commit(sim: Sim) -> None:
    """200 webhooks in flight together: each answered after commit, each conversation gets
    its menu, and the writer carried them in far fewer commits."""

    async def post(i: int) -> int:
        raw = json.dumps(cloud_text(f"4477000{i:05d}", "hi", wamid=f"w{i}", ts=sim.ts())).encode()
        response = await sim.client.post(
            "/webhooks/whatsapp", data=raw, headers={"X-Hub-Signature-256": sign(raw, APP_SECRET)}
        )
        return response.status

    statuses = await asyncio.gather(*(post(i) for i in range(200)))
    assert set(statuses) == {200}
    await sim.settle()
    assert len(sim.sent_texts()) == 200
    stats = sim.runtime.store.stats
    assert stats.batches < stats.writes / 2


async def test_passivated_actor_revives_from_its_snapshot(sim: Sim) -> None:
    """An idle actor leaves memory; the next message revives it where it was (the menu)."""
    await sim.customer_says("447700900123", "hi")
    loop = asyncio.get_running_loop()
    assert sim.runtime.registry.passivate(loop.time() + 1) == 1
    assert len(sim.runtime.registry) == 0
    await sim.customer_taps("447700900123", "MENU_ORDER", "🛒 Place Order")
    assert sim.sent_texts()[-1] == "What is your name?"


async def test_full_mailbox_answers_503_and_stores_nothing(
    sim: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When a conversation's mailbox is full, the webhook is refused with 503 (the provider
    retries) before anything is stored."""
    monkeypatch.setattr(sim.runtime.registry, "has_room", lambda _cid: False)
    raw = json.dumps(cloud_text("447700900123", "hi", wamid="w1", ts=sim.ts())).encode()
    response = await sim.client.post(
        "/webhooks/whatsapp", data=raw, headers={"X-Hub-Signature-256": sign(raw, APP_SECRET)}
    )
    assert response.status == 503
    assert (await response.json())["error"]["code"] == "busy"
    monkeypatch.undo()
    assert (await sim.api("GET", "/api/conversations"))["total"] == 0
    assert (await sim.post_cloud(raw))["accepted"] == 1


async def test_wati_customer_and_agent_share_one_conversation(sim: Sim) -> None:
    """A WATI customer message gets the bot; a WATI agent message on it pauses the bot."""
    phone = "971500000001"
    await sim.post_wati(wati_message(phone, "hi", event_id="m1", ts=sim.ts()))
    assert sim.sent_texts() == ["How can we help you today?"]
    await sim.agent_writes(phone, "I'll take it from here")
    await sim.post_wati(wati_message(phone, "ok", event_id="m2", ts=sim.ts()))
    assert len(sim.sent_texts()) == 1
    conversation = await sim.conversation(phone)
    assert conversation["paused"] is True
    senders = [m["sender_type"] for m in await sim.messages(phone)]
    assert senders == ["customer", "bot", "agent", "customer"]


async def test_healthz_and_metrics(sim: Sim) -> None:
    """/healthz is ok while the writer and timers run; /metrics is Prometheus text."""
    health = await sim.api("GET", "/healthz", token=None)
    assert health["status"] == "ok"
    assert health["writer"] == "running"
    assert health["timers"] == "running"
    await sim.customer_says("447700900123", "hi")
    text = await sim.api("GET", "/metrics", token=None)
    assert "# TYPE gateway_timers_pending gauge" in text
    assert 'gateway_outbox_rows{status="sent"} 1' in text


async def test_actor_logs_carry_the_conversation_id(sim: Sim) -> None:
    """Each actor's log lines are bound to its conversation id."""
    with structlog.testing.capture_logs() as logs:
        await sim.customer_says("447700900123", "hi")
    cid = conversation_id(BUSINESS, "447700900123")
    assert any(e.get("conversation_id") == cid and e["event"] == "step" for e in logs)
