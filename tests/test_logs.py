"""Logs a person can follow: one line per domain event at info, with the conversation id;
phone numbers masked to their last four digits; no message text and no token at info;
UTF-8, not escapes; the virtual time under the virtual clock."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog

from gateway.logs import LEVELS, _render, mask_phones, processors
from gateway.settings import OutboxSettings, SyncSettings, WatiSettings, WhatsAppSettings
from gateway.signature import sign
from tests.conftest import MakeSim
from tests.fake_graph import FakeGraph
from tests.fake_wati import FakeWati
from tests.sim import (
    ADMIN_TOKEN,
    APP_SECRET,
    BUSINESS,
    ENVIRON,
    Sim,
    cloud_text,
    make_operator,
    settings_for,
    wati_message,
)

PHONE = "447700900123"


def render(event: dict[str, Any], **kw: Any) -> str:
    """An event through the production chain (what stdout gets)."""
    for step in processors(**kw):
        event = step(None, "info", event)
    return json.dumps(event, ensure_ascii=False, default=str)


def infos(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in logs if e["log_level"] == "info"]


def events(logs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"] == name]


async def test_a_chat_from_start_to_end_is_told_in_domain_events(sim: Sim) -> None:
    with structlog.testing.capture_logs() as logs:
        ana = await make_operator(sim, "Ana")
        await sim.customer_says(PHONE, "hi, my order 4411 is late")
        await sim.customer_taps(PHONE, "AGENT_MODE", "Talk to Expert")
        taken = await ana.next()
        await ana.reply(taken["id"], "Sorry Dana, looking now")
        await ana.api("POST", f"/api/agent/sessions/{taken['id']}/release", body={})
        await sim.customer_says(PHONE, "end chat")
    cid = (await sim.conversation(PHONE))["id"]
    told = [(e["event"], e.get("conversation_id")) for e in infos(logs)]
    for name in (
        "message_received",
        "message_sent",
        "session_started",
        "session_assigned",
        "session_released",
        "session_ended",
    ):
        assert (name, cid) in told, name
    assert ("operator_created", None) in told
    [received, *_] = events(logs, "message_received")
    assert received["type"] == "text"
    [ended] = events(logs, "session_ended")
    assert ended["reason"] == "customer"


async def test_pauses_are_told_with_their_reason(sim: Sim) -> None:
    with structlog.testing.capture_logs() as logs:
        await sim.customer_says(PHONE, "hi")
        await sim.agent_writes(PHONE, "I'm taking over")
        await sim.customer_says(PHONE, "hello?")
        await sim.advance(timedelta(hours=10))
    [started] = events(logs, "pause_started")
    [ended] = events(logs, "pause_ended")
    [unanswered] = events(logs, "message_not_answered")
    assert (started["by"], ended["reason"], unanswered["reason"]) == ("agent", "expired", "paused")


async def test_messages_not_answered_say_why(sim: Sim) -> None:
    """Stale (late after an outage), and an invalid recipient."""
    from tests.sim import cloud_text

    with structlog.testing.capture_logs() as logs:
        old = int((sim.now() - timedelta(hours=2)).timestamp())
        await sim.post_cloud(cloud_text(PHONE, "hi", wamid="wamid.OLD", ts=old))
        await sim.post_cloud(cloud_text("abc123", "hi", wamid="wamid.BAD", ts=sim.ts()))
    reasons = [e["reason"] for e in events(logs, "message_not_answered")]
    assert reasons == ["stale", "invalid_recipient"]


async def test_no_message_text_and_no_token_at_info(sim: Sim) -> None:
    """Not the customer's words, not the bot's, not the agent's, not a token."""
    with structlog.testing.capture_logs() as logs:
        ana = await make_operator(sim, "Ana")
        await sim.customer_says(PHONE, "my secret words")
        await sim.customer_taps(PHONE, "AGENT_MODE", "Talk to Expert")
        taken = await ana.next()
        await ana.reply(taken["id"], "the agent's words")
    dumped = json.dumps(infos(logs), default=str)
    for secret in ("my secret words", "the agent's words", "How can we help", ana.token):
        assert secret not in dumped, secret
    debug = json.dumps([e for e in logs if e["log_level"] == "debug"], default=str)
    assert "How can we help" in debug, "the console provider's text is at debug"


def test_phone_numbers_are_masked_to_their_last_four_digits() -> None:
    line = json.loads(
        render({"event": "would_send", "to": PHONE, "path": f"/api/sessions/start/+{PHONE}"})
    )
    assert line["to"] == "***0123"
    assert line["path"] == "/api/sessions/start/***0123"
    assert PHONE not in json.dumps(line)


def test_ids_times_and_counts_are_not_phones() -> None:
    for text in (
        "c_900a35c785cbc05a1f2e",
        "c_900a35c785cbc05a1f2e.s1",
        "s_447700900123447700900123",
        "2026-12-01T21:35:10.667417Z",
        "GB.8812345678901234",
        "op_dc004fd9b006",
        "wamid.HBgMNDQ3NzAwOTAw",
        "12345",
    ):
        assert mask_phones(text) == text


def test_emoji_and_arabic_are_utf8() -> None:
    line = render({"event": "x", "detail": "✅ تم"})
    assert "✅ تم" in line and "\\u" not in line


def test_the_virtual_time_is_on_every_line() -> None:
    at = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    line = json.loads(render({"event": "x"}, virtual_now=lambda: at))
    assert line["virtual_time"] == "2026-11-22T03:00:00Z"


# -- no secret and no full phone number in what is logged at the default level -------------

GRAPH_TOKEN = "graph-access-token-0123456789abcdef"
WATI_API_TOKEN = "wati-api-token-0123456789abcdef"
WATI_HOOK_TOKEN = "wati-webhook-token-0123456789abcdef"
VERIFY_TOKEN = "verify-token-0123456789abcdef"
CUSTOMERS = ("447700900123", "966509491382", "971500000009")


def rendered(logs: list[dict[str, Any]], records: list[logging.LogRecord]) -> str:
    """What stdout gets at the shipped level (info): the structlog events through the
    production chain, and the standard library's records (aiohttp's) through its formatter."""
    lines = [render(dict(e)) for e in logs if LEVELS[e["log_level"]] >= logging.INFO]
    formatter = structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _render],
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *processors()],
    )
    # aiohttp.access: the test servers' access logs (the gateway serves with none)
    shown = [r for r in records if r.levelno >= logging.WARNING and r.name != "aiohttp.access"]
    lines += [formatter.format(r) for r in shown]
    return "\n".join(lines)


def assert_nothing_secret(text: str, secrets: list[str]) -> None:
    assert text, "the scenario logged nothing"
    for secret in secrets:
        assert secret not in text, secret
        assert secret[:12] not in text, f"a part of {secret}"
    for phone in CUSTOMERS:
        assert phone not in text and phone[2:] not in text, phone


async def cloud_gateway(make_sim: MakeSim, aiohttp_server: Any, db_path: Path) -> Sim:
    graph = FakeGraph(access_token=GRAPH_TOKEN)
    server = await aiohttp_server(graph.app)
    whatsapp = WhatsAppSettings(
        provider="cloud",
        phone_number_id=BUSINESS,
        verify_token=VERIFY_TOKEN,
        graph_api_base=str(server.make_url("/v21.0")),
    )
    settings = settings_for(
        db_path, whatsapp=whatsapp, outbox=OutboxSettings(max_attempts=2, retry_base_seconds=1.0)
    )
    environ = {**ENVIRON, "WHATSAPP_TOKEN": GRAPH_TOKEN, "WATI_WEBHOOK_TOKEN": WATI_HOOK_TOKEN}
    sim = await make_sim(settings, environ=environ)
    sim.graph = graph  # type: ignore[attr-defined]
    return sim


async def test_no_secret_and_no_phone_in_the_logs_of_a_busy_day(
    make_sim: MakeSim, aiohttp_server: Any, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Logins, wrong tokens (up to 429), the feed, webhooks with good and bad secrets, sends
    through the Cloud API (accepted, refused, throttled) and operator changes: the admin
    token, the operators' tokens, the app secret, the access token, the WATI token and the
    verify token appear nowhere, nor any customer's full number."""
    caplog.set_level(logging.DEBUG)
    sim = await cloud_gateway(make_sim, aiohttp_server, db_path)
    graph: FakeGraph = sim.graph  # type: ignore[attr-defined]
    phone, other, fresh = CUSTOMERS
    with structlog.testing.capture_logs() as logs:
        ana = await make_operator(sim, "Ana")
        sue = await make_operator(sim, "Sue", "supervisor")
        # webhooks: good and bad verify token, signature and WATI token
        for token in (VERIFY_TOKEN, VERIFY_TOKEN[:-1]):
            await sim.client.get(
                "/webhooks/whatsapp",
                params={"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1"},
            )
        await sim.customer_says(phone, "hi, my order is late")
        raw = json.dumps(cloud_text(other, "hi", wamid=sim.next_id(), ts=sim.ts())).encode()
        forged = sign(raw, APP_SECRET[:-1] + "x")
        await sim.client.post(
            "/webhooks/whatsapp", data=raw, headers={"X-Hub-Signature-256": forged}
        )
        hello = wati_message(other, "hello", event_id="w1", ts=sim.ts())
        await sim.client.post("/webhooks/wati", params={"token": WATI_HOOK_TOKEN}, json=hello)
        await sim.client.post("/webhooks/wati", params={"token": WATI_HOOK_TOKEN + "x"},
                              json={"eventType": "message"})  # fmt: skip
        await sim.client.post("/webhooks/wati", headers={"X-Webhook-Token": "wrong"}, json={})
        await sim.settle()
        # a live chat, sends accepted, refused and throttled
        await sim.customer_taps(phone, "AGENT_MODE", "Talk to Expert")
        taken = await ana.next()
        await ana.reply(taken["id"], "Hello, I am Ana")
        graph.fail_next(status=400, code=131047)
        await ana.reply(taken["id"], "one that Meta refuses")
        graph.fail_next(status=429, retry_after=1)
        await ana.reply(taken["id"], "one that is throttled")
        await sim.advance(timedelta(seconds=5))
        graph.fail_next(status=401)  # the access token refused
        await ana.reply(taken["id"], "one with a refused token")
        await sim.advance(timedelta(seconds=5))
        await sim.api("POST", f"/api/agent/sessions/start/{fresh}", token=sue.token, expect=201)
        await sim.api("POST", f"/api/agent/sessions/start/+{fresh}", token=ana.token, expect=403)
        # logins: good, wrong (a near miss of each token), over the bound, the feed
        for token in (ana.token, sue.token, ADMIN_TOKEN):
            await sim.api("GET", "/api/me", token=token)
            await sim.api("GET", "/api/me", token=token[:-1] + "x", expect=401)
        async with sim.client.ws_connect(f"/api/agent/ws?token={ana.token}") as ws:
            await ws.receive_json(timeout=5)
        response = await sim.client.get(f"/api/agent/ws?token={sue.token}x")
        assert response.status == 401
        for _ in range(10):
            await sim.api("GET", "/api/me", token=f"guess-{ADMIN_TOKEN}", expect=None)
        await sim.api("GET", "/api/me", token=ADMIN_TOKEN, expect=429)
        sim.frozen.tick(timedelta(seconds=61))
        # operator changes
        rotated = await sim.api("POST", f"/api/operators/{ana.id}/token")
        await sim.api("PATCH", f"/api/operators/{sue.id}", body={"active": False})
        await sim.api("GET", "/api/me", token=rotated["token"])
        await sim.settle()
    text = rendered(logs, caplog.records)
    events = {e["event"] for e in logs}
    for expected in ("message_sent", "send_failed", "request_refused", "auth_failures_throttled"):
        assert expected in events, (expected, sorted(events))
    secrets = [ADMIN_TOKEN, APP_SECRET, GRAPH_TOKEN, WATI_HOOK_TOKEN, VERIFY_TOKEN]
    assert_nothing_secret(text, [*secrets, ana.token, sue.token, rotated["token"]])
    assert f"/api/agent/sessions/start/***{fresh[-4:]}" in text  # the refused path, masked


async def test_no_secret_and_no_phone_in_the_logs_of_wati_sends(
    make_sim: MakeSim, aiohttp_server: Any, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Through WATI: accepted sends, a refused API token and an echo of our own send."""
    caplog.set_level(logging.DEBUG)
    wati = FakeWati(token=WATI_API_TOKEN)
    server = await aiohttp_server(wati.app)
    settings = settings_for(
        db_path,
        whatsapp=WhatsAppSettings(provider="wati", phone_number_id=BUSINESS),
        wati=WatiSettings(api_base=str(server.make_url("/123456"))),
        outbox=OutboxSettings(max_attempts=2, retry_base_seconds=1.0),
        sync=SyncSettings(source="none"),
    )
    environ = {**ENVIRON, "WATI_API_TOKEN": WATI_API_TOKEN, "WATI_WEBHOOK_TOKEN": WATI_HOOK_TOKEN}
    sim = await make_sim(settings, environ=environ)
    hook = {"token": WATI_HOOK_TOKEN}
    wati.webhook = lambda event: sim.client.post("/webhooks/wati", params=hook, json=event)
    phone = CUSTOMERS[1]
    with structlog.testing.capture_logs() as logs:
        event = wati_message(phone, "hi", event_id=sim.next_id("m"), ts=sim.ts())
        await sim.client.post("/webhooks/wati", params=hook, json=event)
        await sim.settle()
        await wati.deliver_echoes()
        await sim.settle()
        wati.token = "rotated-at-wati"  # our token is refused from now on
        event = wati_message(phone, "hello?", event_id=sim.next_id("m"), ts=sim.ts())
        await sim.client.post("/webhooks/wati", params=hook, json=event)
        await sim.settle()
        await sim.advance(timedelta(seconds=5))
    text = rendered(logs, caplog.records)
    assert {"message_sent", "wati_token_refused"} <= {e["event"] for e in logs}
    secrets = [ADMIN_TOKEN, APP_SECRET, WATI_API_TOKEN, WATI_HOOK_TOKEN]
    assert_nothing_secret(text, secrets)


def test_a_phone_in_a_library_message_is_masked_too() -> None:
    """The standard library's records (aiohttp's errors name URLs, and WATI's carry the
    number) become the line's `event`: masked like every other field."""
    record = logging.LogRecord(
        "aiohttp.client", logging.WARNING, __file__, 1,
        "request to %s failed", ("https://wati.example/api/v1/sendSessionMessage/966509491382",),
        None,
    )  # fmt: skip
    formatter = structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _render],
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *processors()],
    )
    line = json.loads(formatter.format(record))
    assert (
        line["event"] == "request to https://wati.example/api/v1/sendSessionMessage/***1382 failed"
    )
