"""Overload: past the bound on one conversation's mailbox, or on the unprocessed intake of
the whole gateway, webhooks answer 503 with Retry-After and store nothing; intake recovers
when the backlog drains, and nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse

from actors.conversation.keys import conversation_id
from actors.conversation.messages import CustomerMessage, Identity, encode_event
from actors.intake.admission import Admission, IntakeFull
from actors.outbox.outbound import OutboundMessage
from gateway.app import create_app
from gateway.context import GATEWAY
from gateway.providers.console import ConsoleProvider
from gateway.settings import ActorRuntimeSettings, IntakeSettings
from gateway.signature import sign
from storage.rows import StepCommit
from storage.sqlite.timefmt import iso
from tests.conftest import MakeSim
from tests.sim import APP_SECRET, BUSINESS, ENVIRON, Sim, cloud_envelope, cloud_text, settings_for

BOUND = 6
MENU = "How can we help you today?"


def phone(n: int) -> str:
    return f"4477009{n:05d}"


def spread(first: int, count: int, ts: int, prefix: str = "wamid.S") -> dict[str, Any]:
    """One webhook with one message from each of `count` customers."""
    contacts = [{"profile": {"name": "C"}, "wa_id": phone(n)} for n in range(first, first + count)]
    messages = [
        {"from": phone(n), "id": f"{prefix}{n:05d}", "timestamp": str(ts), "type": "text",
         "text": {"body": f"hello {n}"}}
        for n in range(first, first + count)
    ]  # fmt: skip
    return cloud_envelope(BUSINESS, contacts, messages)


def status_only(ts: int) -> dict[str, Any]:
    body = cloud_envelope(BUSINESS, [], [])
    value = body["entry"][0]["changes"][0]["value"]
    del value["messages"]
    value["statuses"] = [
        {"id": "wamid.X", "status": "read", "timestamp": str(ts), "recipient_id": phone(0)}
    ]
    return body


async def post(sim: Sim, body: dict[str, Any]) -> ClientResponse:
    """A signed Cloud webhook, without waiting for what it sets off."""
    raw = json.dumps(body).encode()
    return await sim.client.post(
        "/webhooks/whatsapp", data=raw, headers={"X-Hub-Signature-256": sign(raw, APP_SECRET)}
    )


def inbox_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        (n,) = conn.execute("SELECT count(*) FROM inbox").fetchone()
    return int(n)


def customer_messages(db: Path) -> Counter[str]:
    """How many times each provider message id is stored as a customer message."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT provider_message_id FROM messages WHERE sender_type = 'customer'"
        ).fetchall()
    return Counter(r[0] for r in rows)


async def assert_shed(response: ClientResponse, code: str) -> None:
    assert response.status == 503, await response.text()
    assert response.headers["Retry-After"] == "7"
    body = await response.json()
    assert body == {"error": {"code": code, "message": body["error"]["message"], "field": None}}


class Gate:
    """Holds every step's commit until opened: events stay stored and unprocessed."""

    def __init__(self, sim: Sim) -> None:
        self.open = asyncio.Event()
        store = sim.runtime.store
        self._commit = store.commit_step

        async def held(commit: StepCommit) -> None:
            await self.open.wait()
            await self._commit(commit)

        store.commit_step = held  # type: ignore[method-assign]


async def bounded(make_sim: MakeSim, db_path: Path, mailbox: int = 256) -> Sim:
    return await make_sim(
        settings_for(
            db_path,
            intake=IntakeSettings(max_unprocessed=BOUND, retry_after_seconds=7),
            actors=ActorRuntimeSettings(mailbox_size=mailbox),
        )
    )


async def test_a_flooded_conversation_gets_503_with_retry_after(
    make_sim: MakeSim, db_path: Path
) -> None:
    """A conversation with more events than its mailbox holds refuses its next webhook with
    503 `busy` and Retry-After, storing nothing of it; the shed is counted."""
    sim = await bounded(make_sim, db_path, mailbox=2)
    gate = Gate(sim)
    messages = [
        {"from": phone(1), "id": f"wamid.F{i}", "timestamp": str(sim.ts()), "type": "text",
         "text": {"body": f"flood {i}"}}
        for i in range(4)
    ]  # fmt: skip
    flood = cloud_envelope(BUSINESS, [{"profile": {"name": "C"}, "wa_id": phone(1)}], messages)
    assert (await post(sim, flood)).status == 200
    rows = inbox_rows(db_path)
    await assert_shed(await post(sim, cloud_text(phone(1), "more", wamid="wamid.M", ts=1)), "busy")
    assert inbox_rows(db_path) == rows, "nothing of a shed webhook is stored"
    other = await post(sim, cloud_text(phone(2), "hi", wamid="wamid.O", ts=sim.ts()))
    assert other.status == 200, "another conversation is not held back (under the bound)"
    health = await sim.api("GET", "/healthz", token=None)
    assert health["intake"]["shed"] == {"conversation": 1, "gateway": 0}
    gate.open.set()
    await sim.settle()
    assert (await sim.post_cloud(cloud_text(phone(1), "more", wamid="wamid.M", ts=sim.ts())))[
        "accepted"
    ] == 1
    assert customer_messages(db_path) == Counter(
        {**{f"wamid.F{i}": 1 for i in range(4)}, "wamid.M": 1, "wamid.O": 1}
    )


async def test_intake_over_many_conversations_is_shed_and_recovers(
    make_sim: MakeSim, db_path: Path
) -> None:
    """One message each from many customers: no mailbox is full, but past the gateway's
    bound every webhook (statuses too) answers 503 `overloaded` with Retry-After and stores
    nothing, until the backlog drains; then webhooks are taken again."""
    sim = await bounded(make_sim, db_path)
    gate = Gate(sim)
    first = await post(sim, spread(0, BOUND - 2, sim.ts()))
    assert first.status == 200
    second = await post(sim, spread(100, 3, sim.ts()))
    assert second.status == 200, "admitted whole while under the bound"
    assert sim.runtime.admission.unprocessed == BOUND + 1
    rows = inbox_rows(db_path)
    for body in (spread(200, 1, sim.ts()), status_only(sim.ts())):
        await assert_shed(await post(sim, body), "overloaded")
    assert inbox_rows(db_path) == rows, "nothing of a shed webhook is stored"
    health = await sim.api("GET", "/healthz", token=None)
    assert health["intake"] == {
        "unprocessed": BOUND + 1,
        "max_unprocessed": BOUND,
        "shedding": True,
        "shed": {"conversation": 0, "gateway": 2},
    }
    metrics = await sim.api("GET", "/metrics", token=None)
    assert 'gateway_webhooks_shed_total{reason="gateway"} 2.0' in metrics
    assert "gateway_intake_unprocessed 7.0" in metrics

    gate.open.set()
    await sim.settle()
    assert sim.runtime.admission.unprocessed == 0
    assert (await post(sim, spread(200, 1, sim.ts()))).status == 200, "recovered"
    await sim.settle()
    health = await sim.api("GET", "/healthz", token=None)
    assert health["intake"]["shedding"] is False
    assert health["inbox"]["unprocessed"] == 0
    stored = customer_messages(db_path)
    assert set(stored.values()) == {1} and len(stored) == BOUND + 2
    assert Counter(m.text for m in sim.provider.sent) == {MENU: BOUND + 2}


async def test_nothing_acknowledged_is_lost_under_a_flood(make_sim: MakeSim, db_path: Path) -> None:
    """Many webhooks at once over few conversations, with small bounds and the steps held
    back at first: each is either acknowledged or shed with Retry-After; the shed ones are
    sent again (as Meta does) until acknowledged. Every message is then stored once and
    answered once, and the count of unprocessed intake comes back to zero."""
    sim = await bounded(make_sim, db_path, mailbox=3)
    gate = Gate(sim)
    pending = {
        f"wamid.L{n:03d}": cloud_text(phone(n % 5), f"m{n}", wamid=f"wamid.L{n:03d}", ts=sim.ts())
        for n in range(40)
    }
    statuses: Counter[int] = Counter()
    rounds = 0
    while pending:
        rounds += 1
        answers = await asyncio.gather(*(post(sim, body) for body in pending.values()))
        for wamid, response in zip(list(pending), answers, strict=True):
            statuses[response.status] += 1
            if response.status == 200:
                del pending[wamid]
            else:
                assert response.status == 503 and "Retry-After" in response.headers
        if rounds == 2:
            gate.open.set()
        if gate.open.is_set():
            await sim.settle()
        assert rounds < 100
    await sim.settle()
    assert statuses[503] > 0 and set(statuses) == {200, 503}
    assert customer_messages(db_path) == Counter({f"wamid.L{n:03d}": 1 for n in range(40)})
    assert len(sim.provider.sent) == 40, "one answer per message"
    assert sim.runtime.admission.unprocessed == 0
    shed = sim.runtime.admission.shed
    assert shed["conversation"] + shed["gateway"] == statuses[503]


async def test_events_found_at_start_count_against_the_bound(
    aiohttp_client: Any, frozen: Any, db_path: Path
) -> None:
    """Events stored before a stop and replayed at the next start count: past the bound the
    restarted gateway sheds webhooks until it has processed them, then takes them again."""
    settings = settings_for(
        db_path, intake=IntakeSettings(max_unprocessed=BOUND, retry_after_seconds=7)
    )
    first = Sim(await aiohttp_client(create_app(settings, environ=ENVIRON)), frozen)
    now = first.now()
    await first.client.close()
    with sqlite3.connect(db_path) as conn:
        for n in range(BOUND + 2):
            event = CustomerMessage(
                who=Identity(BUSINESS, phone(n), phone(n), "C"),
                provider="cloud",
                provider_message_id=f"wamid.R{n}",
                sent_at=now,
                kind="text",
                text=f"lost {n}",
            )
            conn.execute(
                "INSERT INTO inbox (dedupe_key, source, kind, conversation_id, payload,"
                " received_at) VALUES (?, 'cloud', 'message', ?, ?, ?)",
                (f"wa:msg:{BUSINESS}:wamid.R{n}", conversation_id(BUSINESS, phone(n)),
                 encode_event(event), iso(now)),
            )  # fmt: skip

    app = create_app(settings, environ=ENVIRON)
    store = app[GATEWAY].runtime.store
    held = asyncio.Event()
    commit = store.commit_step

    async def held_commit(c: StepCommit) -> None:
        await held.wait()
        await commit(c)

    store.commit_step = held_commit  # type: ignore[method-assign]
    second = Sim(await aiohttp_client(app), frozen)
    assert second.runtime.admission.unprocessed == BOUND + 2
    await assert_shed(await post(second, spread(50, 1, second.ts())), "overloaded")
    held.set()
    await second.settle()
    assert second.runtime.admission.unprocessed == 0
    assert (await post(second, spread(50, 1, second.ts()))).status == 200
    await second.settle()
    stored = customer_messages(db_path)
    assert set(stored.values()) == {1} and len(stored) == BOUND + 3


def test_admission_counts_reservations_and_never_goes_negative() -> None:
    """Unit: a webhook is admitted while under the bound, whole; concurrent admissions are
    counted while they are stored; a settle too many leaves zero."""
    gate = Admission(max_unprocessed=3)
    gate.reserve(2)
    gate.reserve(5)  # 2 < 3: admitted whole
    with pytest.raises(IntakeFull):
        gate.reserve(1)
    gate.stored(2, 2)
    gate.release(5, "conversation")
    assert (gate.unprocessed, gate.reserved, gate.shed) == (2, 0, {"conversation": 1, "gateway": 1})
    for _ in range(3):
        gate.settled()
    assert gate.unprocessed == 0
    assert not gate.full


async def test_the_console_provider_keeps_only_its_recent_sends() -> None:
    """The default provider records sends for a look, not forever: memory stays bounded."""
    provider = ConsoleProvider(keep=3)
    for n in range(10):
        await provider.send(OutboundMessage(business_id=BUSINESS, to=phone(n), text=f"t{n}"))
    assert 3 <= len(provider.sent) <= 6
    assert provider.sent[-1].text == "t9"


async def test_a_gateway_not_accepting_says_when_to_retry(sim: Sim) -> None:
    """Starting or stopping, a webhook is refused with 503 `not_ready` and Retry-After, as
    every 503 is (Meta and WATI retry sooner or later; the header tells them when)."""
    gateway = sim.client.app[GATEWAY]  # type: ignore[index]
    gateway.accepting = False
    response = await post(sim, spread(0, 1, sim.ts()))
    gateway.accepting = True
    body = await response.json()
    assert (response.status, body["error"]["code"]) == (503, "not_ready")
    assert int(response.headers["Retry-After"]) > 0
