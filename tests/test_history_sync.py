"""History sync end to end: WATI's history API (a fake tenant serving pages, errors and
timeouts) through `POST /api/conversations/sync` and the scheduled job, with sync_status,
retries with backoff and the alert; and the Cloud API's `history` webhooks, imported before
the 200. Under freezegun; nothing sleeps."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from actors.maintenance.settings import SyncSettings
from gateway.settings import WatiSettings, WhatsAppSettings
from tests.conftest import MakeSim
from tests.fake_wati import FakeWati
from tests.sim import BUSINESS, ENVIRON, Sim, cloud_envelope, settings_for, wati_message
from tests.test_cloud_history import REALISTIC
from tests.test_wati_history import item

TOKEN = "wati-token"
PHONE = "966509491382"


@pytest.fixture
async def wati(make_sim: MakeSim, aiohttp_server: Any, db_path: Path) -> tuple[Sim, FakeWati]:
    fake = FakeWati(token=TOKEN)
    server = await aiohttp_server(fake.app)
    settings = settings_for(
        db_path,
        whatsapp=WhatsAppSettings(provider="wati", phone_number_id=BUSINESS),
        wati=WatiSettings(api_base=str(server.make_url("/123456"))),
        sync=SyncSettings(max_retries=2, retry_base_seconds=60),
    )
    sim = await make_sim(settings, environ={**ENVIRON, "WATI_API_TOKEN": TOKEN})
    return sim, fake


async def known_chat(sim: Sim) -> str:
    """A conversation the webhooks know, with its first message."""
    await sim.post_wati(wati_message(PHONE, "hello", event_id="evt-1", ts=sim.ts()))
    return str((await sim.conversation(PHONE))["id"])


def history(sim: Sim, n: int, **fields: Any) -> dict[str, Any]:
    at = sim.now() - timedelta(minutes=60 - n)
    return item(n, timestamp=str(int(at.timestamp())), whatsappMessageId=f"wamid.H{n}", **fields)


async def texts(sim: Sim) -> list[str]:
    return [m["text"] for m in await sim.messages(PHONE)]


async def test_a_sync_inserts_what_is_missing_once(wati: tuple[Sim, FakeWati]) -> None:
    sim, fake = wati
    cid = await known_chat(sim)
    agent = {"owner": True, "operatorEmail": "ana@shop.example", "statusString": "READ"}
    fake.add_history(
        PHONE,
        [history(sim, 1, text="from before the gateway"),
         history(sim, 2, text="an agent's answer", **agent)],
    )  # fmt: skip
    answer = await sim.api("POST", "/api/conversations/sync", body={"chat_id": cid, "mode": "full"})
    assert (answer["synced_count"], answer["errors"], answer["sync_mode"]) == (2, [], "full")
    assert "from before the gateway" in await texts(sim)
    again = await sim.api("POST", "/api/conversations/sync", body={"chat_id": cid})
    assert again["synced_count"] == 0, "idempotent: keyed on the provider's id"
    [state] = (await sim.api("GET", "/api/conversations/sync-status"))["items"]
    assert (state["entity_id"], state["sync_status"], state["retry_count"]) == (cid, "synced", 0)
    assert state["last_sync_at"] is not None and state["error_message"] is None
    shown = {m["text"]: m for m in await sim.messages(PHONE)}
    agent = shown["an agent's answer"]
    assert (agent["direction"], agent["sender_type"], agent["status"]) == ("out", "agent", "read")


async def test_a_failing_sync_is_retried_with_backoff_then_alerts(
    wati: tuple[Sim, FakeWati],
) -> None:
    sim, fake = wati
    cid = await known_chat(sim)
    fake.add_history(PHONE, [history(sim, 1, text="late")])
    fake.fail_history(500, times=3)
    failed = await sim.api("POST", "/api/conversations/sync", body={"chat_id": cid})
    assert failed["synced_count"] == 0 and failed["errors"][0]["chat_id"] == cid
    [state] = (await sim.api("GET", "/api/conversations/sync-status"))["items"]
    assert (state["sync_status"], state["retry_count"]) == ("failed", 1)
    assert state["next_retry_at"] is not None and "server" in state["error_message"]
    await sim.advance(timedelta(minutes=30))  # the 30-minute run: retry due after 60 s
    [state] = (await sim.api("GET", "/api/conversations/sync-status"))["items"]
    assert state["retry_count"] == 2
    await sim.advance(timedelta(minutes=30))
    [state] = (await sim.api("GET", "/api/conversations/sync-status"))["items"]
    assert state["retry_count"] == 3 and state["next_retry_at"] is None, "past max_retries"
    health = await sim.api("GET", "/healthz", token=None)
    assert any(a["alert"] == f"sync_failing:{cid}" for a in health["alerts"])
    requests = len(fake.history_requests())
    await sim.advance(timedelta(minutes=30))
    assert len(fake.history_requests()) == requests, "given up until a manual sync"
    done = await sim.api("POST", "/api/conversations/sync", body={"chat_id": cid})
    assert done["synced_count"] == 1
    health = await sim.api("GET", "/healthz", token=None)
    assert health["alerts"] == []


async def test_a_timeout_is_a_retryable_failure(wati: tuple[Sim, FakeWati]) -> None:
    sim, fake = wati
    cid = await known_chat(sim)
    fake.hang_history()
    sim.runtime.history._timeout = aiohttp.ClientTimeout(total=0.2)  # type: ignore[union-attr]
    failed = await sim.api("POST", "/api/conversations/sync", body={"chat_id": cid})
    fake.release_history()
    assert failed["errors"] and "timeout" in failed["errors"][0]["error"]
    [state] = (await sim.api("GET", "/api/conversations/sync-status"))["items"]
    assert state["next_retry_at"] is not None


async def test_the_scheduled_sync_walks_every_chat(wati: tuple[Sim, FakeWati]) -> None:
    sim, fake = wati
    await known_chat(sim)
    fake.add_history(PHONE, [history(sim, 1, text="missed")])
    await sim.advance(timedelta(minutes=30))
    assert "missed" in await texts(sim)
    jobs = {j["name"]: j for j in (await sim.api("GET", "/api/jobs"))["items"]}
    assert jobs["sync"]["schedule"] == "*/30 * * * *" and jobs["sync"]["runs"] >= 1


async def test_cloud_history_webhooks_make_conversations(sim: Sim) -> None:
    """Coexistence onboarding: the Business app's chats, imported before the 200, once."""
    body = cloud_envelope(BUSINESS, [], [])
    body["entry"][0]["changes"] = [{"field": "history", "value": REALISTIC}]
    await sim.post_cloud(body)
    dana = await sim.messages("447700900123")
    assert [m["provider_message_id"] for m in dana][:2] == ["wamid.A1", "wamid.A2"]
    assert dana[0]["direction"] == "out" and dana[1]["direction"] == "in"
    await sim.post_cloud(body)  # Meta sends it again: nothing doubles
    assert len(await sim.messages("447700900123")) == len(dana)
    assert ("history", "imported") not in await sim.journey("447700900123")
