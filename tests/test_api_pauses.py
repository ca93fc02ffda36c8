"""The pause rows of API.md: info, create, remove, list, cleanup."""

from __future__ import annotations

from datetime import timedelta

from tests.sim import Sim, hours, utc

PHONE = "966509491382"


async def conversation_id(sim: Sim) -> str:
    await sim.customer_says(PHONE, "hi")
    return str((await sim.conversation(PHONE))["id"])


async def test_not_paused_by_default(sim: Sim) -> None:
    """GET pause of a conversation without one: paused false, fields null."""
    cid = await conversation_id(sim)
    pause = await sim.api("GET", f"/api/conversations/{cid}/pause")
    assert pause["paused"] is False
    assert pause["expires_at"] is None


async def test_put_pause_silences_the_bot_for_that_long(sim: Sim) -> None:
    """PUT {"hours": 2} pauses now for 2 h, by the caller; then the bot is back."""
    cid = await conversation_id(sim)
    pause = await sim.api("PUT", f"/api/conversations/{cid}/pause", body={"hours": 2})
    assert pause["paused"] is True
    assert utc(pause["expires_at"]) == sim.now() + hours(2)
    assert pause["source"] == "api"
    assert pause["by"] == "admin"
    await sim.customer_says(PHONE, "hello?")
    assert len(sim.sent_texts()) == 1
    await sim.advance(hours(2))
    await sim.customer_says(PHONE, "hello?")
    assert len(sim.sent_texts()) == 2


async def test_put_replaces_an_agent_pause(sim: Sim) -> None:
    """A manual pause replaces the agent's (shorter or longer) pause."""
    cid = await conversation_id(sim)
    await sim.agent_writes(PHONE, "taking over")
    pause = await sim.api("PUT", f"/api/conversations/{cid}/pause", body={"hours": 0.5})
    assert utc(pause["expires_at"]) == sim.now() + timedelta(minutes=30)


async def test_delete_resumes_the_bot(sim: Sim) -> None:
    """DELETE clears the pause at once; the timer is dropped; a second DELETE is harmless."""
    cid = await conversation_id(sim)
    await sim.agent_writes(PHONE, "taking over")
    removed = await sim.api("DELETE", f"/api/conversations/{cid}/pause")
    assert removed["removed"] is True
    assert removed["paused"] is False
    assert (await sim.conversation(PHONE))["next_wakeup_at"] is None
    assert (await sim.api("DELETE", f"/api/conversations/{cid}/pause"))["removed"] is False
    assert ("manual_pause", "pause_removed") in await sim.journey(PHONE)
    await sim.customer_says(PHONE, "hi")
    assert len(sim.sent_texts()) == 2
    assert (await sim.api("GET", "/api/pauses"))["total"] == 0


async def test_list_shows_active_pauses_only(sim: Sim) -> None:
    """GET /api/pauses lists active pauses with the list shape."""
    await sim.agent_writes(PHONE, "taking over")
    await sim.agent_writes("971500000001", "me too")
    listed = await sim.api("GET", "/api/pauses?limit=1")
    assert listed["total"] == 2
    assert listed["limit"] == 1
    assert len(listed["items"]) == 1
    await sim.advance(hours(10))
    assert (await sim.api("GET", "/api/pauses"))["total"] == 0


async def test_cleanup_clears_expired_pauses(sim: Sim) -> None:
    """POST /api/pauses/cleanup clears pauses whose time ran out and counts them."""
    await sim.agent_writes(PHONE, "taking over")
    assert (await sim.api("POST", "/api/pauses/cleanup")) == {"removed": 0}
    sim.runtime.timers.stop()  # as if the timer had not run yet (say, right after a restart)
    sim.frozen.tick(hours(11))
    assert (await sim.api("POST", "/api/pauses/cleanup")) == {"removed": 1}
    assert ("conversation_pause_expiry", "pause_expired") in await sim.journey(PHONE)
    sim.runtime.timers.start()
