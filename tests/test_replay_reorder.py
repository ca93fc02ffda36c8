"""Replayed, reordered and duplicated webhooks: whatever the order and however many times an
event comes, it is stored once and answered once; events are handled in the order they
arrive (the inbox's), each stored with its own time."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

from actors.outbox.outbound import OutboundMessage, SendResult
from gateway.signature import sign
from tests.conftest import MakeSim
from tests.sim import APP_SECRET, BUSINESS, Sim, cloud_button, cloud_envelope, cloud_text

PHONE = "447700900123"
MENU = "How can we help you today?"
ASK_NAME = "What is your name?"
DANA = {"profile": {"name": "Dana Levi"}, "wa_id": PHONE}


def text(wamid: str, body: str, ts: int) -> dict[str, Any]:
    kind = {"type": "text", "text": {"body": body}}
    return {"from": PHONE, "id": wamid, "timestamp": str(ts), **kind}


def stored(db: Path) -> Counter[str]:
    """How many times each provider message id is stored as a customer message."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT provider_message_id FROM messages WHERE sender_type = 'customer'"
        ).fetchall()
    return Counter(r[0] for r in rows)


def replies(sim: Sim) -> list[str]:
    return sim.sent_texts()


async def test_the_same_webhook_twice_and_again_after_a_restart(
    make_sim: MakeSim, db_path: Path
) -> None:
    """A redelivery is a duplicate: before and after a restart on the same database (the
    dedupe is the inbox's, on disk, not a cache); stored once, answered once."""
    first = await make_sim()
    body = cloud_text(PHONE, "hi", wamid="wamid.RP1", ts=first.ts())
    assert (await first.post_cloud(body))["accepted"] == 1
    assert (await first.post_cloud(body))["duplicates"] == 1
    assert replies(first) == [MENU]
    await first.client.close()
    second = await make_sim()
    assert await second.post_cloud(body) == {"accepted": 0, "duplicates": 1, "ignored": 0}
    assert replies(second) == [], "nothing is answered again after the restart"
    assert stored(db_path) == {"wamid.RP1": 1}
    texts = [m["text"] for m in await second.messages(PHONE)]
    assert texts == ["hi", MENU]


async def test_the_same_message_id_in_two_envelopes_of_one_batch(sim: Sim, db_path: Path) -> None:
    """Meta may repeat a message in one POST (two entries, or twice in `messages[]`): the
    second is a duplicate of the first, in the same transaction."""
    msg = text("wamid.DUP", "hello", sim.ts())
    body = cloud_envelope(BUSINESS, [DANA], [msg, dict(msg)])
    body["entry"].append(json.loads(json.dumps(body["entry"][0])))
    body["entry"][1]["changes"][0]["value"]["contacts"][0]["profile"]["name"] = "Dana L."
    assert await sim.post_cloud(body) == {"accepted": 1, "duplicates": 3, "ignored": 0}
    assert stored(db_path) == {"wamid.DUP": 1}
    assert replies(sim) == [MENU]


async def test_the_same_message_id_in_two_different_envelopes(sim: Sim, db_path: Path) -> None:
    """A redelivery whose envelope differs (another entry id, another name, other company in
    the batch) is still a duplicate of the message it carries; the new one beside it is not."""
    ts = sim.ts()
    await sim.post_cloud(cloud_envelope(BUSINESS, [DANA], [text("wamid.E1", "one", ts)]))
    other = cloud_envelope(
        BUSINESS,
        [{"profile": {"name": "Dana (new name)"}, "wa_id": PHONE}],
        [text("wamid.E2", "two", ts + 1), text("wamid.E1", "one, edited?", ts)],
    )
    other["entry"][0]["id"] = "210000000000099"
    assert await sim.post_cloud(other) == {"accepted": 1, "duplicates": 1, "ignored": 0}
    assert stored(db_path) == {"wamid.E1": 1, "wamid.E2": 1}
    assert [m["text"] for m in await sim.messages(PHONE) if m["sender_type"] == "customer"] == [
        "one",
        "two",
    ], "the first copy is the one kept"
    assert replies(sim) == [MENU, MENU]


async def test_messages_in_reverse_time_order_in_one_batch(sim: Sim, db_path: Path) -> None:
    """A batch whose messages are newest first: each is stored once with its own time, and
    answered once, in the order of the batch."""
    ts = sim.ts()
    batch = [text(f"wamid.V{i}", f"m{i}", ts - i) for i in range(4)]
    assert (await sim.post_cloud(cloud_envelope(BUSINESS, [DANA], batch)))["accepted"] == 4
    assert stored(db_path) == {f"wamid.V{i}": 1 for i in range(4)}
    customer = [m for m in await sim.messages(PHONE) if m["sender_type"] == "customer"]
    assert [m["text"] for m in customer] == ["m0", "m1", "m2", "m3"]
    assert [m["created_at"] for m in customer] == sorted(
        (m["created_at"] for m in customer), reverse=True
    ), "each keeps its own time"
    assert replies(sim) == [MENU] * 4


async def test_messages_in_reverse_time_order_across_batches(sim: Sim, db_path: Path) -> None:
    """The same, a webhook each: a late older message is recorded, answered once, and does not
    undo what the newer ones did."""
    ts = sim.ts()
    for i in range(3):
        body = cloud_envelope(BUSINESS, [DANA], [text(f"wamid.X{i}", f"x{i}", ts - 10 * i)])
        assert (await sim.post_cloud(body))["accepted"] == 1
    for i in range(3):  # and each once more, as Meta retries
        body = cloud_envelope(BUSINESS, [DANA], [text(f"wamid.X{i}", f"x{i}", ts - 10 * i)])
        assert (await sim.post_cloud(body))["duplicates"] == 1
    assert stored(db_path) == {f"wamid.X{i}": 1 for i in range(3)}
    assert replies(sim) == [MENU] * 3
    conversation = await sim.conversation(PHONE)
    assert conversation["message_count"] == 6


async def test_an_answer_before_its_question(sim: Sim, db_path: Path) -> None:
    """The customer taps a menu button and then answers the question it asks, but the answer
    arrives first: it is handled where the conversation is (the menu, repeated), then the
    tap (the question is asked); each stored once and answered once, nothing lost."""
    ts = sim.ts()
    await sim.post_cloud(cloud_text(PHONE, "hi", wamid="wamid.Q0", ts=ts))
    answer = cloud_text(PHONE, "Noa", wamid="wamid.Q2", ts=ts + 20)
    tap = cloud_button(PHONE, "MENU_ORDER", "Place Order", wamid="wamid.Q1", ts=ts + 10)
    await sim.post_cloud(answer)
    await sim.post_cloud(tap)
    await sim.post_cloud(answer)  # redelivered: changes nothing
    assert stored(db_path) == {"wamid.Q0": 1, "wamid.Q1": 1, "wamid.Q2": 1}
    assert replies(sim) == [MENU, MENU, ASK_NAME]
    await sim.customer_says(PHONE, "Noa")  # the customer answers again, now in order
    assert replies(sim)[-1] == "Thanks Noa! An order form is on its way."


async def test_a_status_before_its_message_is_sent(sim: Sim) -> None:
    """Meta's `delivered` can arrive while the send that it is about is still waiting for
    its answer (the Graph API answers after the webhook): the status is matched by the
    outbox id in `biz_opaque_callback_data`, and the late `sent` does not undo it."""
    gate = asyncio.Event()
    provider = sim.provider
    send = provider.send

    async def slow(message: OutboundMessage) -> SendResult:
        await gate.wait()
        return await send(message)

    provider.send = slow  # type: ignore[method-assign]
    raw = json.dumps(cloud_text(PHONE, "hi", wamid="wamid.S0", ts=sim.ts())).encode()
    headers = {"X-Hub-Signature-256": sign(raw, APP_SECRET)}
    assert (await sim.client.post("/webhooks/whatsapp", data=raw, headers=headers)).status == 200
    await sim.runtime.registry.wait_idle()
    await sim.runtime.store.wait_idle()
    with sqlite3.connect(sim.runtime.config.db_path) as conn:
        (outbox_id,) = conn.execute("SELECT id FROM outbox").fetchone()
    status = cloud_envelope(BUSINESS, [], [])
    value = status["entry"][0]["changes"][0]["value"]
    del value["messages"]
    value["statuses"] = [
        {"id": f"console.{outbox_id}", "status": "delivered", "timestamp": str(sim.ts()),
         "recipient_id": PHONE, "biz_opaque_callback_data": f"outbox:{outbox_id}"}
    ]  # fmt: skip
    raw = json.dumps(status).encode()
    headers = {"X-Hub-Signature-256": sign(raw, APP_SECRET)}
    response = await sim.client.post("/webhooks/whatsapp", data=raw, headers=headers)
    assert (await response.json())["accepted"] == 1
    gate.set()
    await sim.settle()
    bot = [m for m in await sim.messages(PHONE) if m["sender_type"] == "bot"]
    assert [(m["text"], m["status"]) for m in bot] == [(MENU, "delivered")]
    assert bot[0]["provider_message_id"] == f"console.{outbox_id}"
