"""Logs a person can follow: one line per domain event at info, with the conversation id;
phone numbers masked to their last four digits; no message text and no token at info;
UTF-8, not escapes; the virtual time under the virtual clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from gateway.logs import mask_phones, processors
from tests.sim import Sim, make_operator

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
