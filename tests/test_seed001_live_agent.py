"""Seed 001's "Test End-to-End Flow": the customer side, the agent side, and expiry."""

from __future__ import annotations

from datetime import timedelta

from tests.sim import Sim, hours, make_operator, session_of, utc

PHONE = "447700900123"
CONNECTING = "🙋 Connecting you to an agent..."


async def test_customer_and_agent_sides(sim: Sim) -> None:
    """hi -> menu; Talk to Expert -> connecting; the agent accepts and chats; "end chat"
    hands the conversation back to the bot."""
    agent = await make_operator(sim, "Noa")
    await sim.customer_says(PHONE, "hi")
    assert sim.sent_texts() == ["How can we help you today?"]
    await sim.customer_taps(PHONE, "AGENT_MODE", "👤 Talk to Expert")
    assert sim.sent_texts()[-1] == CONNECTING

    waiting = await agent.api("GET", "/api/agent/sessions/waiting")
    assert waiting["total"] == 1
    session = waiting["items"][0]
    assert session["phone_number"] == PHONE
    assert session["customer_name"] == "Dana Levi"
    assert (session["status"], session["chat_state"]) == ("waiting", "waiting_assignment")

    accepted = await agent.api("POST", f"/api/agent/sessions/{session['id']}/assign", body={})
    assert (accepted["status"], accepted["chat_state"]) == ("active", "assigned")
    assert accepted["agent_id"] == agent.id
    assert accepted["accepted_at"] is not None

    await sim.customer_says(PHONE, "my order is late")
    assert sim.sent_texts()[-1] == CONNECTING  # the bot said nothing
    sent = await agent.reply(session["id"], "Hi Dana, let me check.")
    assert sent["sender_type"] == "agent"
    assert sent["sender_id"] == agent.id
    assert sim.sent_texts()[-1] == "Hi Dana, let me check."

    transcript = await agent.api("GET", f"/api/agent/sessions/{session['id']}/messages")
    texts = [(m["sender_type"], m["text"]) for m in transcript["items"]]
    assert ("customer", "my order is late") in texts
    assert ("agent", "Hi Dana, let me check.") in texts
    assert [t for t in texts if t[0] == "system"], "every event is a system message"

    await sim.customer_says(PHONE, "End Chat")
    ended = await agent.api("GET", f"/api/agent/sessions/{session['id']}")
    assert (ended["status"], ended["end_reason"]) == ("ended", "customer")
    assert (await sim.conversation(PHONE))["mode"] == "bot"
    await sim.customer_says(PHONE, "hi")
    assert sim.sent_texts()[-1] == "How can we help you today?"


async def test_agent_ends_the_chat(sim: Sim) -> None:
    """The agent's "End Chat": the customer is told; a second end is 409."""
    agent = await make_operator(sim, "Noa")
    await sim.customer_taps(PHONE, "AGENT_MODE", "Talk to Expert")
    session = await session_of(sim, PHONE)
    await agent.api("POST", f"/api/agent/sessions/{session['id']}/assign", body={})
    ended = await agent.api(
        "POST", f"/api/agent/sessions/{session['id']}/end", body={"reason": "resolved"}
    )
    assert (ended["status"], ended["end_reason"]) == ("ended", "agent")
    assert sim.sent_texts()[-1].startswith("✅ Chat ended")
    again = await agent.api("POST", f"/api/agent/sessions/{session['id']}/end", body={}, expect=409)
    assert again["error"]["code"] == "session_ended"


async def test_session_expires_after_22_hours(sim: Sim) -> None:
    """Wait 22 hours: the session ends by itself and the customer gets the notice."""
    agent = await make_operator(sim, "Noa")
    started = sim.now()
    await sim.customer_says(PHONE, "hi")
    await sim.customer_taps(PHONE, "AGENT_MODE", "Talk to Expert")
    session = await session_of(sim, PHONE)
    assert utc(session["expires_at"]) == started + hours(22)
    await agent.api("POST", f"/api/agent/sessions/{session['id']}/assign", body={})
    await agent.reply(session["id"], "Hello, I'm Noa")
    await sim.advance(hours(3))
    await sim.customer_says(PHONE, "still there?")  # keeps the 24-hour window open
    await agent.reply(session["id"], "yes")
    await sim.advance(hours(19) - timedelta(seconds=1))
    assert (await sim.conversation(PHONE))["mode"] == "human"
    await sim.advance(timedelta(seconds=1))
    assert sim.sent_texts()[-1] == "⏰ Chat expired after 22 hours"
    ended = await agent.api("GET", f"/api/agent/sessions/{session['id']}")
    assert (ended["status"], ended["end_reason"]) == ("ended", "expired")
    assert utc(ended["ended_at"]) == started + hours(22)


async def test_start_from_the_api_and_409_when_open(sim: Sim) -> None:
    """POST start/{phone} (a supervisor's): 201 a waiting session; again: 409 with the open
    one."""
    boss = await make_operator(sim, "Rita", "supervisor")
    await sim.customer_says(PHONE, "hi")
    started = await boss.api("POST", f"/api/agent/sessions/start/{PHONE}", expect=201)
    assert started["started_by"] == "api"
    assert started["status"] == "waiting"
    again = await boss.api("POST", f"/api/agent/sessions/start/{PHONE}", expect=409)
    assert again["error"]["code"] == "session_open"
    assert again["session"]["id"] == started["id"]


async def test_an_agent_may_not_open_a_session_for_a_phone(sim: Sim) -> None:
    """Opening a session for an arbitrary phone is for supervisors (and flows): an agent's
    try is 403 whether the customer exists or not, and opens nothing."""
    agent = await make_operator(sim, "Noa")
    await sim.customer_says(PHONE, "hi")
    for phone in (PHONE, "971500000009"):
        refused = await agent.api("POST", f"/api/agent/sessions/start/{phone}", expect=403)
        assert refused["error"]["code"] == "forbidden"
    assert (await sim.conversation(PHONE))["session"] is None
    assert (await sim.api("GET", "/api/conversations?phone=971500000009"))["total"] == 0


async def test_start_for_a_new_customer(sim: Sim) -> None:
    """A phone with no conversation yet gets one; outside the window nothing is sent."""
    started = await sim.api("POST", "/api/agent/sessions/start/971500000009", expect=201)
    assert started["phone_number"] == "971500000009"
    assert sim.sent_texts() == []
    assert ("automatic_message", "window_closed") in await sim.journey("971500000009")


async def test_agent_message_outside_the_window_is_refused(sim: Sim) -> None:
    """An agent cannot write free text after 24 hours of customer silence: 409."""
    agent = await make_operator(sim, "Noa")
    await sim.customer_taps(PHONE, "AGENT_MODE", "Talk to Expert")
    session = await session_of(sim, PHONE)
    await agent.api("POST", f"/api/agent/sessions/{session['id']}/assign", body={})
    await agent.reply(session["id"], "Hello")
    await sim.advance(hours(21))
    await agent.reply(session["id"], "ok", expect=201)

    # the session expires at 22 h; start another and let the window close first
    await sim.advance(hours(1))
    started = await sim.api("POST", f"/api/agent/sessions/start/{PHONE}", expect=201)
    await agent.api("POST", f"/api/agent/sessions/{started['id']}/assign", body={})
    await agent.reply(started["id"], "I'm back")
    await sim.advance(hours(2))

    refused = await agent.reply(started["id"], "hello?", expect=409)
    assert refused["error"]["code"] == "window_closed"


async def test_history_filters(sim: Sim) -> None:
    """History: newest first, filtered by agent, status, search and dates (inclusive)."""
    noa = await make_operator(sim, "Noa")
    sup = await make_operator(sim, "Sam", "supervisor")
    await sim.customer_taps("447700900001", "AGENT_MODE", "Talk to Expert")
    first = await session_of(sim, "447700900001")
    await noa.api("POST", f"/api/agent/sessions/{first['id']}/assign", body={})
    await sim.advance(hours(30))
    await sim.customer_taps("447700900002", "AGENT_MODE", "Talk to Expert")
    second = await session_of(sim, "447700900002")

    found = await sup.api("GET", "/api/agent/sessions/history")
    assert [s["id"] for s in found["items"]] == [second["id"], first["id"]]
    assert (await sup.api("GET", f"/api/agent/sessions/history?agent_id={noa.id}"))["total"] == 1
    assert (await sup.api("GET", "/api/agent/sessions/history?status=ended"))["total"] == 1
    assert (await sup.api("GET", "/api/agent/sessions/history?search=900002"))["total"] == 1
    assert (await sup.api("GET", "/api/agent/sessions/history?search=dana"))["total"] == 2
    assert (await sup.api("GET", "/api/agent/sessions/history?start_date=2026-11-22"))["total"] == 1
    assert (await sup.api("GET", "/api/agent/sessions/history?end_date=2026-11-21"))["total"] == 1
    paged = await sup.api("GET", "/api/agent/sessions/history?limit=1&offset=1")
    assert [s["id"] for s in paged["items"]] == [first["id"]]
    assert paged["total"] == 2
    mine = await noa.api("GET", "/api/agent/sessions/history")
    assert [s["id"] for s in mine["items"]] == [first["id"]]
    for bad in ("start_date=21-11-2026", "end_date=2026-02-30", "status=open"):
        await sup.api("GET", f"/api/agent/sessions/history?{bad}", expect=400)
