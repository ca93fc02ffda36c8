"""The outbox through the Cloud API provider against a fake Graph server: what is sent,
retries with backoff on 429/5xx/130429/131056, permanent failures, statuses merged."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from gateway.providers.cloud import CloudProvider
from gateway.settings import OutboxSettings, Settings, WhatsAppSettings
from tests.conftest import MakeSim
from tests.fake_graph import FakeGraph
from tests.sim import BUSINESS, Sim, cloud_envelope, settings_for
from tests.sim import ENVIRON as BASE_ENVIRON

PHONE = "447700900123"
MENU = "How can we help you today?"


ENVIRON = {"WHATSAPP_TOKEN": "tok", **BASE_ENVIRON}


def cloud_settings(db_path: Any, graph_url: str, **sections: Any) -> Settings:
    whatsapp = WhatsAppSettings(
        provider="cloud", phone_number_id=BUSINESS, graph_api_base=graph_url
    )
    return settings_for(db_path, whatsapp=whatsapp, **sections)


@pytest.fixture
async def graph_sim(make_sim: MakeSim, aiohttp_server: Any, db_path: Any) -> tuple[Sim, FakeGraph]:
    graph = FakeGraph(access_token="tok", phone_number_id=BUSINESS)
    server = await aiohttp_server(graph.app)
    outbox = OutboxSettings(max_attempts=4, retry_base_seconds=1.0)
    url = str(server.make_url("/v21.0"))
    sim = await make_sim(cloud_settings(db_path, url, outbox=outbox), environ=ENVIRON)
    assert isinstance(sim.runtime.provider, CloudProvider)
    return sim, graph


def status_body(wamid: str, status: str, ts: int, **extra: Any) -> dict[str, Any]:
    body = cloud_envelope(BUSINESS, [], [])
    value = body["entry"][0]["changes"][0]["value"]
    del value["messages"]
    value["statuses"] = [
        {"id": wamid, "status": status, "timestamp": str(ts), "recipient_id": PHONE, **extra}
    ]
    return body


async def bot_message(sim: Sim) -> dict[str, Any]:
    return next(m for m in await sim.messages(PHONE) if m["sender_type"] == "bot")


async def test_reply_goes_out_through_graph(graph_sim: tuple[Sim, FakeGraph]) -> None:
    """The menu is sent to +E.164 with the outbox id as callback data; its wamid is kept."""
    sim, graph = graph_sim
    await sim.customer_says(PHONE, "hi")
    assert graph.sent_texts() == [MENU]
    request = graph.requests[0]
    assert request.body["to"] == f"+{PHONE}"
    assert request.body["biz_opaque_callback_data"] == "outbox:1"
    assert request.body["interactive"]["type"] == "button"
    message = await bot_message(sim)
    assert message["provider_message_id"] == "wamid.FAKE_1"
    assert message["status"] == "sent"


async def test_statuses_merge_monotonically(graph_sim: tuple[Sim, FakeGraph]) -> None:
    """delivered then read; a late `delivered` or `sent` does not move it back."""
    sim, _ = graph_sim
    await sim.customer_says(PHONE, "hi")
    for status in ("read", "delivered", "sent"):
        assert (await sim.post_cloud(status_body("wamid.FAKE_1", status, sim.ts())))[
            "accepted"
        ] == 1
    message = await bot_message(sim)
    assert message["status"] == "read"
    assert message["read_at"] is not None
    duplicate = await sim.post_cloud(status_body("wamid.FAKE_1", "read", sim.ts()))
    assert duplicate == {"accepted": 0, "duplicates": 1, "ignored": 0}


async def test_failed_status_is_recorded_and_journaled(graph_sim: tuple[Sim, FakeGraph]) -> None:
    """A `failed` status with 131047 marks the message failed and journals it."""
    sim, _ = graph_sim
    await sim.customer_says(PHONE, "hi")
    errors = [{"code": 131047, "title": "Re-engagement message"}]
    await sim.post_cloud(status_body("wamid.FAKE_1", "failed", sim.ts(), errors=errors))
    message = await bot_message(sim)
    assert message["status"] == "failed"
    assert message["error_code"] == 131047
    assert ("delivery", "failed") in await sim.journey(PHONE)


@pytest.mark.parametrize(
    ("status", "code"), [(429, None), (500, None), (400, 130429), (400, 131056), (503, None)]
)
async def test_retryable_errors_are_retried_after_backoff(
    graph_sim: tuple[Sim, FakeGraph], status: int, code: int | None
) -> None:
    """A retryable refusal waits 1 s (then 4 s, 16 s...) and tries again; sent once."""
    sim, graph = graph_sim
    graph.fail_next(status=status, code=code)
    await sim.customer_says(PHONE, "hi")
    assert graph.sent_texts() == []
    assert len(graph.requests) == 1
    await sim.advance(timedelta(milliseconds=999))
    assert len(graph.requests) == 1
    await sim.advance(timedelta(milliseconds=1))
    assert graph.sent_texts() == [MENU]
    assert (await bot_message(sim))["status"] == "sent"


async def test_backoff_grows_by_four(graph_sim: tuple[Sim, FakeGraph]) -> None:
    """Pair-rate refusals (131056) back off 1 s, 4 s, 16 s (Meta's 4^X advice)."""
    sim, graph = graph_sim
    graph.fail_next(status=400, code=131056, times=3)
    await sim.customer_says(PHONE, "hi")
    await sim.advance(timedelta(seconds=1))
    assert len(graph.requests) == 2
    await sim.advance(timedelta(seconds=3.9))
    assert len(graph.requests) == 2
    await sim.advance(timedelta(seconds=0.1))
    assert len(graph.requests) == 3
    await sim.advance(timedelta(seconds=16))
    assert graph.sent_texts() == [MENU]


async def test_gives_up_after_max_attempts(graph_sim: tuple[Sim, FakeGraph]) -> None:
    """After outbox.max_attempts retryable failures the send is recorded as failed."""
    sim, graph = graph_sim
    graph.fail_next(status=500, times=10)
    await sim.customer_says(PHONE, "hi")
    await sim.advance(timedelta(minutes=10))
    assert len(graph.requests) == 4
    assert (await bot_message(sim))["status"] == "failed"
    assert ("delivery", "send_failed") in await sim.journey(PHONE)


@pytest.mark.parametrize("code", [131026, 131047])
async def test_permanent_errors_are_not_retried(
    graph_sim: tuple[Sim, FakeGraph], code: int
) -> None:
    """131026 (undeliverable) and 131047 (window closed) are recorded, never retried."""
    sim, graph = graph_sim
    graph.fail_next(status=400, code=code)
    await sim.customer_says(PHONE, "hi")
    await sim.advance(timedelta(hours=1))
    assert len(graph.requests) == 1
    message = await bot_message(sim)
    assert message["status"] == "failed"
    assert message["error_code"] == code


async def test_one_send_in_flight_per_recipient_keeps_order(
    graph_sim: tuple[Sim, FakeGraph],
) -> None:
    """Two replies to one customer go out in order, the second after the first."""
    sim, graph = graph_sim
    await sim.customer_says(PHONE, "hi")
    await sim.customer_taps(PHONE, "MENU_PRODUCTS", "📦 Products")
    await sim.customer_says(PHONE, "hi")
    texts = graph.sent_texts()
    assert texts[0] == MENU
    assert texts[1].startswith("Our catalogue")
    assert texts[2] == MENU


async def test_failure_while_down_is_sent_after_restart(
    make_sim: MakeSim, aiohttp_server: Any, db_path: Any
) -> None:
    """A send still pending when the gateway stops is sent after it starts again."""
    graph = FakeGraph(access_token="tok")
    server = await aiohttp_server(graph.app)
    settings = cloud_settings(db_path, str(server.make_url("/v21.0")))
    first = await make_sim(settings, environ=ENVIRON)
    graph.fail_next(status=503)
    await first.customer_says(PHONE, "hi")
    await first.client.close()
    assert graph.sent_texts() == []
    first.frozen.tick(timedelta(seconds=5))
    second = await make_sim(settings, environ=ENVIRON)
    await second.settle()
    assert graph.sent_texts() == [MENU]
