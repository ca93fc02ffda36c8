"""Restarts lose nothing: pauses hold and expire on time; unprocessed events are replayed."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from actors.conversation.keys import conversation_id
from actors.conversation.messages import CustomerMessage, Identity, encode_event
from storage.sqlite.timefmt import iso
from tests.conftest import MakeSim
from tests.sim import BUSINESS, conversation_timers, hours

PHONE = "966509491382"


async def test_pause_survives_a_restart_and_still_expires(make_sim: MakeSim) -> None:
    """Stop during a pause, start on the same file: still paused, and it expires at 10 h."""
    first = await make_sim()
    paused_at = first.now()
    await first.agent_writes(PHONE, "taking over")
    await first.advance(hours(3))
    await first.client.close()

    second = await make_sim()
    assert conversation_timers(second) == 1
    await second.customer_says(PHONE, "hello?")
    assert second.sent_texts() == []
    await second.advance(paused_at + hours(10) - second.now() - timedelta(seconds=1))
    assert (await second.conversation(PHONE))["paused"] is True
    await second.advance(timedelta(seconds=1))
    assert ("conversation_pause_expiry", "pause_expired") in await second.journey(PHONE)
    await second.customer_says(PHONE, "hi")
    assert second.sent_texts() == ["How can we help you today?"]


async def test_deadline_passed_while_down_fires_at_start(make_sim: MakeSim) -> None:
    """A pause that ran out while the gateway was stopped is cleared right after start."""
    first = await make_sim()
    await first.agent_writes(PHONE, "taking over")
    await first.client.close()
    first.frozen.tick(hours(11))

    second = await make_sim()
    await second.settle()
    assert (await second.conversation(PHONE))["paused"] is False
    assert ("conversation_pause_expiry", "pause_expired") in await second.journey(PHONE)


async def test_unprocessed_inbox_rows_are_replayed(make_sim: MakeSim, db_path: Path) -> None:
    """An event committed but not processed before a crash is processed at the next start."""
    first = await make_sim()
    await first.client.close()
    now = first.now()
    event = CustomerMessage(
        who=Identity(BUSINESS, PHONE, PHONE, "Omar"),
        provider="cloud",
        provider_message_id="wamid.CRASH",
        sent_at=now,
        kind="text",
        text="hi",
    )
    cid = conversation_id(BUSINESS, PHONE)
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "INSERT INTO inbox (dedupe_key, source, kind, conversation_id, payload, received_at)"
            " VALUES (?, 'cloud', 'message', ?, ?, ?)",
            (f"wa:msg:{BUSINESS}:wamid.CRASH", cid, encode_event(event), iso(now)),
        )

    second = await make_sim()
    await second.settle()
    assert second.sent_texts() == ["How can we help you today?"]
    with sqlite3.connect(db_path) as conn:
        (unprocessed,) = conn.execute(
            "SELECT count(*) FROM inbox WHERE processed_at IS NULL"
        ).fetchone()
    assert unprocessed == 0


async def test_session_expiry_survives_a_restart(make_sim: MakeSim) -> None:
    """A live-agent session's 22-hour expiry still fires after a restart."""
    first = await make_sim()
    started = first.now()
    await first.customer_taps(PHONE, "AGENT_MODE", "Talk to Expert")
    await first.client.close()

    second = await make_sim()
    await second.advance(started + hours(22) - second.now())
    assert second.sent_texts() == ["⏰ Chat expired after 22 hours"]
    assert (await second.conversation(PHONE))["mode"] == "bot"
