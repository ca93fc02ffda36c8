"""actors.intake: webhook events stored before they are acknowledged, then handed to their
conversations; what does not fit a mailbox waits in the inbox (the backlog), not in memory,
and is processed in order."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from actors.conversation.keys import conversation_id
from actors.conversation.messages import CustomerMessage, Identity, encode_event
from actors.intake.items import IntakeItem
from gateway.settings import ActorRuntimeSettings
from gateway.signature import sign
from storage.sqlite.timefmt import iso
from tests.conftest import MakeSim
from tests.sim import APP_SECRET, BUSINESS, Sim, cloud_envelope, settings_for

PHONE = "447700900123"
CID = conversation_id(BUSINESS, PHONE)
BOUND = 4


def batch(texts: list[str], ts: int) -> dict[str, Any]:
    """One webhook carrying many messages of one customer."""
    messages = [
        {"from": PHONE, "id": f"wamid.B{i:03d}", "timestamp": str(ts), "type": "text",
         "text": {"body": text}}
        for i, text in enumerate(texts)
    ]  # fmt: skip
    return cloud_envelope(BUSINESS, [{"profile": {"name": "Dana"}, "wa_id": PHONE}], messages)


def customer_texts(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT text FROM messages WHERE sender_type = 'customer' ORDER BY id"
        ).fetchall()
    return [r[0] for r in rows]


def unprocessed(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        (n,) = conn.execute("SELECT count(*) FROM inbox WHERE processed_at IS NULL").fetchone()
    return int(n)


async def small(make_sim: MakeSim, db_path: Path) -> Sim:
    return await make_sim(settings_for(db_path, actors=ActorRuntimeSettings(mailbox_size=BOUND)))


async def test_a_batch_bigger_than_the_mailbox_is_stored_and_processed_in_order(
    make_sim: MakeSim, db_path: Path
) -> None:
    """A webhook with more messages for one conversation than its mailbox holds is stored and
    acknowledged whole; the mailbox never holds more than its bound (the rest waits in the
    inbox), and every message is processed, in order."""
    sim = await small(make_sim, db_path)
    texts = [f"message {i}" for i in range(3 * BOUND + 1)]
    raw = json.dumps(batch(texts, sim.ts())).encode()
    response = await sim.client.post(
        "/webhooks/whatsapp", data=raw, headers={"X-Hub-Signature-256": sign(raw, APP_SECRET)}
    )
    assert response.status == 200
    assert (await response.json())["accepted"] == len(texts)
    assert sim.runtime.registry.queued(CID) <= BOUND, "the mailbox holds no more than its bound"
    assert sim.runtime.backlog.parked == 1, "the rest waits in the inbox"
    assert unprocessed(db_path) > BOUND
    await sim.settle()
    assert customer_texts(db_path) == texts
    assert unprocessed(db_path) == 0
    assert sim.runtime.backlog.parked == 0
    health = await sim.api("GET", "/healthz", token=None)
    assert health["parked_conversations"] == 0


async def test_a_parked_conversation_sheds_load_until_it_catches_up(
    make_sim: MakeSim, db_path: Path
) -> None:
    """While a conversation has a backlog, its next webhook is refused with 503 (the provider
    retries); once the backlog is processed it is accepted again."""
    sim = await small(make_sim, db_path)
    raw = json.dumps(batch([f"m{i}" for i in range(2 * BOUND)], sim.ts())).encode()
    headers = {"X-Hub-Signature-256": sign(raw, APP_SECRET)}
    assert (await sim.client.post("/webhooks/whatsapp", data=raw, headers=headers)).status == 200
    assert not sim.runtime.backlog.has_room(CID)
    await sim.settle()
    assert sim.runtime.backlog.has_room(CID)
    await sim.customer_says(PHONE, "later")
    assert customer_texts(db_path)[-1] == "later"


async def test_replay_of_more_events_than_a_mailbox_holds(make_sim: MakeSim, db_path: Path) -> None:
    """Events stored but not processed before a stop, more than one mailbox holds, are all
    processed at the next start, in order."""
    first = await small(make_sim, db_path)
    await first.client.close()
    now = first.now()
    texts = [f"lost {i}" for i in range(3 * BOUND)]
    with sqlite3.connect(db_path) as conn:
        for i, text in enumerate(texts):
            event = CustomerMessage(
                who=Identity(BUSINESS, PHONE, PHONE, "Dana"),
                provider="cloud",
                provider_message_id=f"wamid.R{i}",
                sent_at=now,
                kind="text",
                text=text,
            )
            conn.execute(
                "INSERT INTO inbox (dedupe_key, source, kind, conversation_id, payload,"
                " received_at) VALUES (?, 'cloud', 'message', ?, ?, ?)",
                (f"wa:msg:{BUSINESS}:wamid.R{i}", CID, encode_event(event), iso(now)),
            )
    second = await small(make_sim, db_path)
    await second.settle()
    assert customer_texts(db_path) == texts
    assert unprocessed(db_path) == 0


async def test_an_event_handed_over_twice_is_processed_once(sim: Sim) -> None:
    """An inbox event that reaches its conversation twice (read back from the inbox while it
    was being delivered) is processed once."""
    event = CustomerMessage(
        who=Identity(BUSINESS, PHONE, PHONE, "Dana"),
        provider="cloud",
        provider_message_id="wamid.TWICE",
        sent_at=sim.now(),
        kind="text",
        text="once",
    )
    item = IntakeItem(f"wa:msg:{BUSINESS}:wamid.TWICE", "cloud", event=event)
    result = await sim.runtime.accept([item])
    assert result.accepted == 1
    [stored] = await sim.runtime.store.unprocessed_inbox(3)
    sim.runtime.registry.tell(CID, event, inbox_id=stored.id)
    await sim.settle()
    texts = [m["text"] for m in await sim.messages(PHONE) if m["sender_type"] == "customer"]
    assert texts == ["once"]
    assert sim.sent_texts() == ["How can we help you today?"]


async def test_statuses_and_ignored_events_are_answered_without_a_conversation(
    sim: Sim,
) -> None:
    """A status is merged as it is stored; an ignored event is journaled; neither reaches an
    actor, and a redelivery of either is a duplicate."""
    body = cloud_envelope(BUSINESS, [], [])
    value = body["entry"][0]["changes"][0]["value"]
    del value["messages"]
    value["statuses"] = [
        {"id": "wamid.X", "status": "delivered", "timestamp": str(sim.ts()), "recipient_id": PHONE}
    ]
    body["entry"][0]["changes"].append({"field": "account_update", "value": {"event": "x"}})
    first = await sim.post_cloud(body)
    assert (first["accepted"], first["ignored"], first["duplicates"]) == (1, 1, 0)
    again = await sim.post_cloud(body)
    assert (again["accepted"], again["ignored"], again["duplicates"]) == (0, 0, 2)
    assert len(sim.runtime.registry) == 0
