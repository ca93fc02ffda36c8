"""actors.outbox.sender: sends leave in commit order, one in flight per recipient; at a stop
the sends in flight finish and are recorded, so a clean restart sends nothing twice."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import timedelta
from pathlib import Path

from actors.outbox.outbound import OutboundMessage, SendResult
from gateway.settings import OutboxSettings
from gateway.signature import sign
from tests.conftest import MakeSim
from tests.sim import APP_SECRET, BUSINESS, Sim, cloud_envelope, cloud_text, settings_for

PHONE = "447700900123"


class GatedProvider:
    """Answers each send only when the test opens the gate."""

    name = "gated"

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.started = asyncio.Event()
        self.sent: list[OutboundMessage] = []

    async def send(self, message: OutboundMessage) -> SendResult:
        self.started.set()
        await self.gate.wait()
        self.sent.append(message)
        return SendResult(ok=True, provider_message_id=f"wamid.G{message.outbox_id}")

    async def close(self) -> None:
        return None


class Recorder(GatedProvider):
    def __init__(self) -> None:
        super().__init__()
        self.gate.set()


def outbox_rows(db: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT status, attempts FROM outbox ORDER BY id").fetchall()


async def post_hi(sim: Sim) -> None:
    """A customer writes; the webhook is answered without waiting for the send."""
    raw = json.dumps(cloud_text(PHONE, "hi", wamid="wamid.HI", ts=sim.ts())).encode()
    response = await sim.client.post(
        "/webhooks/whatsapp", data=raw, headers={"X-Hub-Signature-256": sign(raw, APP_SECRET)}
    )
    assert response.status == 200


async def test_a_send_in_flight_at_stop_finishes_and_is_not_sent_again(
    make_sim: MakeSim, db_path: Path
) -> None:
    """Stopping waits for the send in flight, records it as sent, and the next start sends
    nothing."""
    gated = GatedProvider()
    sim = await make_sim(provider=gated)
    await post_hi(sim)
    await gated.started.wait()
    stopping = asyncio.get_running_loop().create_task(sim.client.close())
    await asyncio.sleep(0)  # let the stop begin: the send is still in flight
    assert not stopping.done()
    gated.gate.set()
    await stopping
    assert [m.text for m in gated.sent] == ["How can we help you today?"]
    assert outbox_rows(db_path) == [("sent", 1)]
    again = Recorder()
    second = await make_sim(provider=again)
    await second.settle()
    assert again.sent == [], "nothing is sent twice"


async def test_a_send_still_unanswered_after_the_drain_is_sent_after_the_grace(
    make_sim: MakeSim, db_path: Path
) -> None:
    """A send that does not finish within `drain_seconds` is cancelled at the stop; it may
    have reached the provider, so after the restart it waits `unconfirmed_grace_seconds`
    for a status naming it, and with none is sent again then."""
    gated = GatedProvider()
    settings = settings_for(db_path, outbox=OutboxSettings(drain_seconds=0.0))
    sim = await make_sim(settings, provider=gated)
    await post_hi(sim)
    await gated.started.wait()
    await sim.client.close()
    assert gated.sent == []
    assert outbox_rows(db_path) == [("pending", 0)]
    again = Recorder()
    second = await make_sim(settings, provider=again)
    await second.settle()
    assert again.sent == [], "not before the grace"
    await second.advance(timedelta(seconds=29.9))
    assert again.sent == []
    await second.advance(timedelta(seconds=0.1))
    assert [m.text for m in again.sent] == ["How can we help you today?"]
    assert outbox_rows(db_path) == [("sent", 1)]


def status_of(outbox_id: int, wamid: str, ts: int) -> dict[str, object]:
    """The `sent` status Meta posts for a message we sent with our callback data."""
    body = cloud_envelope(BUSINESS, [], [])
    value = body["entry"][0]["changes"][0]["value"]
    del value["messages"]
    value["statuses"] = [
        {"id": wamid, "status": "sent", "timestamp": str(ts), "recipient_id": PHONE,
         "biz_opaque_callback_data": f"outbox:{outbox_id}"}
    ]  # fmt: skip
    return body


async def test_a_status_within_the_grace_confirms_an_unanswered_send(
    make_sim: MakeSim, db_path: Path
) -> None:
    """The send in flight at a crash had reached the provider: its status webhook, arriving
    within the grace, records it as sent, and it is never sent again. The recipient's next
    reply, held behind it, goes at once then."""
    gated = GatedProvider()
    settings = settings_for(db_path, outbox=OutboxSettings(drain_seconds=0.0))
    sim = await make_sim(settings, provider=gated)
    await post_hi(sim)
    await gated.started.wait()
    await sim.client.close()
    again = Recorder()
    second = await make_sim(settings, provider=again)
    await second.customer_says(PHONE, "hello")  # a second reply, behind the unconfirmed one
    assert again.sent == [], "the recipient's next reply waits behind the unconfirmed one"
    await second.post_cloud(status_of(1, "wamid.AT_META", second.ts()))
    await second.advance(timedelta(seconds=30))
    assert [m.outbox_id for m in again.sent] == [2], "the first is never sent again"
    assert outbox_rows(db_path) == [("sent", 0), ("sent", 1)]
    first = next(m for m in await second.messages(PHONE) if m["sender_type"] == "bot")
    assert (first["status"], first["provider_message_id"]) == ("sent", "wamid.AT_META")
    assert ("delivery", "send_confirmed_by_status") in await second.journey(PHONE)


async def test_a_status_for_a_send_never_attempted_confirms_nothing(
    make_sim: MakeSim, db_path: Path
) -> None:
    """Only a send marked as attempted can be confirmed by a status: a status naming a row
    that never left (forged or mistaken callback data) does not stop it being sent."""
    gated = GatedProvider()
    sim = await make_sim(provider=gated)
    await sim.client.close()
    recorder = Recorder()
    second = await make_sim(provider=recorder)
    await second.post_cloud(status_of(1, "wamid.NOT_OURS", second.ts()))
    await second.customer_says(PHONE, "hi")
    assert [m.outbox_id for m in recorder.sent] == [1]
    assert gated.sent == []


async def test_the_outbox_id_travels_in_the_body(make_sim: MakeSim) -> None:
    """The id of the outbox row is decided with the step, so the provider gets it in the
    message it sends (for callback data and local message ids)."""
    recorder = Recorder()
    sim = await make_sim(provider=recorder)
    await sim.customer_says(PHONE, "hi")
    await sim.customer_says(PHONE, "hello")
    assert [m.outbox_id for m in recorder.sent] == [1, 2]


async def test_past_the_memory_bound_sends_wait_in_the_table_and_all_go(
    make_sim: MakeSim, db_path: Path
) -> None:
    """With room for 3 sends in memory, 12 customers' replies: the rest wait in the outbox
    table (committed there already), are read back as the queue drains, and each is sent
    once."""
    gated = GatedProvider()
    settings = settings_for(db_path, outbox=OutboxSettings(max_queued=3))
    sim = await make_sim(settings, provider=gated)
    for i in range(12):
        raw = json.dumps(cloud_text(f"4477009{i:05d}", "hi", wamid=f"wamid.M{i}", ts=sim.ts()))
        response = await sim.client.post(
            "/webhooks/whatsapp",
            data=raw.encode(),
            headers={"X-Hub-Signature-256": sign(raw.encode(), APP_SECRET)},
        )
        assert response.status == 200
    await gated.started.wait()
    await sim.runtime.backlog.wait_idle()
    await sim.runtime.registry.wait_idle()  # every reply committed (the sends are gated)
    await sim.runtime.store.wait_idle()
    sender = sim.runtime.sender
    assert len(sender._known) <= 3, "no more than the bound in memory"
    assert [status for status, _ in outbox_rows(db_path)].count("pending") == 12
    gated.gate.set()
    await sim.settle()
    assert sorted(m.to for m in gated.sent) == sorted(f"4477009{i:05d}" for i in range(12))
    assert [status for status, _ in outbox_rows(db_path)] == ["sent"] * 12


async def test_a_throttled_answer_slows_the_number_down(make_sim: MakeSim) -> None:
    """A 429 (or 130429) halves the number's pace, and is retried."""

    class Throttling(Recorder):
        calls = 0

        async def send(self, message: OutboundMessage) -> SendResult:
            self.calls += 1
            if self.calls == 1:
                return SendResult(ok=False, retryable=True, error_code=130429, retry_after=0.01)
            return await super().send(message)

    provider = Throttling()
    sim = await make_sim(provider=provider)
    await post_hi(sim)
    await sim.settle()
    assert sim.runtime.sender.pace.current("310000000000002") < 80
    await sim.advance(timedelta(seconds=1))
    assert [m.text for m in provider.sent] == ["How can we help you today?"]
