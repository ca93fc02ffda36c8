"""`GET /api/agent/ws`, the dashboards' feed, end to end: authentication before the upgrade,
the `hello`, and which session, queue and message events each operator receives."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import ClientWebSocketResponse

from actors.conversation.policy import AssignmentSettings
from tests.conftest import MakeSim
from tests.sim import ADMIN_TOKEN, Sim, make_operator, session_of, settings_for

A, B = "447700900001", "447700900002"
Event = dict[str, Any]


async def connect(sim: Sim, token: str, *, header: bool = False) -> ClientWebSocketResponse:
    """Open the feed with the token in `?token=` or in the Authorization header."""
    if header:
        return await sim.client.ws_connect(
            "/api/agent/ws", headers={"Authorization": f"Bearer {token}"}
        )
    return await sim.client.ws_connect(f"/api/agent/ws?token={token}")


@asynccontextmanager
async def feed(
    sim: Sim, token: str, *, header: bool = False
) -> AsyncIterator[ClientWebSocketResponse]:
    """An open dashboard socket whose `hello` was read (so it is subscribed); closed after."""
    ws = await connect(sim, token, header=header)
    try:
        hello = await ws.receive_json(timeout=5)
        assert hello["type"] == "hello", hello
        yield ws
    finally:
        await ws.close()


async def wait_for(
    ws: ClientWebSocketResponse, event_type: str, match: Callable[[Event], bool] = lambda d: True
) -> tuple[Event, list[Event]]:
    """The next event of that type whose data matches, and the events skipped before it."""
    skipped: list[Event] = []
    while True:
        event = await ws.receive_json(timeout=5)
        if event["type"] == event_type and match(event["data"]):
            return event["data"], skipped
        skipped.append(event)


@pytest.fixture
async def pool(make_sim: MakeSim, db_path: Path) -> Sim:
    """A gateway with the `pool` policy."""
    return await make_sim(settings_for(db_path, assignment=AssignmentSettings(policy="pool")))


async def open_chat(sim: Sim, phone: str) -> Event:
    """The customer presses Talk to Expert: a waiting session."""
    await sim.customer_taps(phone, "AGENT_MODE", "Talk to Expert")
    return await session_of(sim, phone)


async def marker(sim: Sim, ws: ClientWebSocketResponse, phone: str) -> list[Event]:
    """Open another chat and read up to its session.created: every event published before it
    has then been delivered (one ordered queue per socket). Returns the events before it."""
    await sim.customer_taps(phone, "AGENT_MODE", "Talk to Expert")
    _, skipped = await wait_for(ws, "session.created", lambda d: d["phone_number"] == phone)
    return skipped


def messages_of(events: list[Event], session_id: str) -> list[Event]:
    return [
        e["data"]
        for e in events
        if e["type"] == "message.created" and e["data"].get("session_id") == session_id
    ]


@pytest.mark.parametrize("header", [False, True], ids=["query", "header"])
async def test_hello_comes_first(sim: Sim, header: bool) -> None:
    """A socket opened with a valid token (query or header) first receives `hello`."""
    ana = await make_operator(sim, "Ana")
    ws = await connect(sim, ana.token, header=header)
    try:
        first = await ws.receive_json(timeout=5)
        at = sim.runtime.events.last_seq
        assert first == {
            "seq": at,
            "type": "hello",
            "data": {"operator_id": ana.id, "role": "agent"},
        }
        await ws.send_str("ping")
        assert await ws.receive_json(timeout=5) == {"seq": at, "type": "pong", "data": {}}
    finally:
        await ws.close()


@pytest.mark.parametrize(
    "connect",
    [
        pytest.param({}, id="no-token"),
        pytest.param({"params": {"token": "not-a-token"}}, id="bad-query-token"),
        pytest.param({"headers": {"Authorization": "Bearer not-a-token"}}, id="bad-header"),
        pytest.param({"headers": {"Authorization": "Basic dXNlcjpwYXNz"}}, id="not-bearer"),
    ],
)
async def test_no_valid_token_is_401_before_upgrade(sim: Sim, connect: dict[str, Any]) -> None:
    """Without a valid token the handshake is refused with 401; nothing is upgraded."""
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await sim.client.ws_connect("/api/agent/ws", **connect)
    assert refused.value.status == 401
    response = await sim.client.get("/api/agent/ws", **connect)
    assert response.status == 401
    body = await response.json()
    assert body["error"]["code"] == "unauthorized"
    assert sim.runtime.events.listeners == 1, "only the desk listens: no socket subscribed"


async def test_agent_sees_a_new_chat_and_the_queue(sim: Sim) -> None:
    """Talk to Expert sends session.created and queue.changed to an agent."""
    ana = await make_operator(sim, "Ana")
    async with feed(sim, ana.token) as ws:
        await sim.customer_taps(A, "AGENT_MODE", "Talk to Expert")
        session = await session_of(sim, A)
        created, _ = await wait_for(ws, "session.created")
        assert (created["id"], created["phone_number"]) == (session["id"], A)
        assert (created["status"], created["chat_state"]) == ("waiting", "waiting_assignment")
        assert created["agent_id"] is None
        queued, _ = await wait_for(ws, "queue.changed")
        assert queued == {"session_id": session["id"], "change": "added"}


async def test_agent_taking_a_chat_gets_it_and_its_messages(sim: Sim) -> None:
    """Taking a chat via /next sends its session.updated and then its customer messages."""
    ana = await make_operator(sim, "Ana")
    async with feed(sim, ana.token) as ws:
        chat = await open_chat(sim, A)
        taken = await ana.next()
        assert taken["id"] == chat["id"]
        update, _ = await wait_for(ws, "session.updated", lambda d: d["id"] == chat["id"])
        assert (update["chat_state"], update["status"], update["agent_id"]) == (
            "assigned",
            "active",
            ana.id,
        )
        removed, _ = await wait_for(ws, "queue.changed", lambda d: d["change"] == "removed")
        assert removed["session_id"] == chat["id"]
        await sim.customer_says(A, "my order is late")
        message, _ = await wait_for(
            ws, "message.created", lambda d: d.get("sender_type") == "customer"
        )
        assert (message["session_id"], message["text"]) == (chat["id"], "my order is late")


async def test_agent_sees_its_own_reply_and_the_answer(sim: Sim) -> None:
    """In sticky, the holder receives its reply, the wait state and the customer's answer."""
    ana = await make_operator(sim, "Ana")
    async with feed(sim, ana.token) as ws:
        chat = await open_chat(sim, A)
        await ana.next()
        await ana.reply(chat["id"], "Hello, how can I help?")
        mine, _ = await wait_for(ws, "message.created", lambda d: d["sender_type"] == "agent")
        assert (mine["session_id"], mine["sender_id"]) == (chat["id"], ana.id)
        waiting, _ = await wait_for(
            ws, "session.updated", lambda d: d["chat_state"] == "waiting_real_user_reply"
        )
        assert waiting["agent_id"] == ana.id
        await sim.customer_says(A, "thanks")
        answer, _ = await wait_for(ws, "message.created", lambda d: d["sender_type"] == "customer")
        assert (answer["session_id"], answer["text"]) == (chat["id"], "thanks")
        back, _ = await wait_for(ws, "session.updated", lambda d: d["id"] == chat["id"])
        assert (back["chat_state"], back["agent_id"]) == ("assigned", ana.id)


async def test_other_agent_does_not_see_messages_of_a_held_chat(sim: Sim) -> None:
    """An agent receives no messages or updates of a chat another agent holds."""
    ana, ben = await make_operator(sim, "Ana"), await make_operator(sim, "Ben")
    chat = await open_chat(sim, A)
    await ana.next()
    async with feed(sim, ben.token) as ws:
        await sim.customer_says(A, "my order is late")
        await ana.reply(chat["id"], "Looking into it")
        await sim.customer_says(A, "ok")
        before = await marker(sim, ws, B)
        assert messages_of(before, chat["id"]) == []
        assert [e for e in before if e["data"].get("id") == chat["id"]] == []
        queued, _ = await wait_for(ws, "queue.changed")
        assert queued["change"] == "added"


async def test_other_agent_does_not_see_the_assignment_note(sim: Sim) -> None:
    """When one agent takes a chat, another agent receives none of its messages."""
    ana, ben = await make_operator(sim, "Ana"), await make_operator(sim, "Ben")
    chat = await open_chat(sim, A)
    async with feed(sim, ben.token) as ws:
        await ana.next()
        before = await marker(sim, ws, B)
        assert messages_of(before, chat["id"]) == []


async def test_supervisor_receives_everything(sim: Sim) -> None:
    """A supervisor receives every session, queue and message event, whoever holds the chat."""
    ana = await make_operator(sim, "Ana")
    sup = await make_operator(sim, "Sue", "supervisor")
    async with feed(sim, sup.token, header=True) as ws:
        chat = await open_chat(sim, A)
        created, _ = await wait_for(ws, "session.created")
        assert created["id"] == chat["id"]
        await ana.next()
        update, _ = await wait_for(ws, "session.updated", lambda d: d["id"] == chat["id"])
        assert (update["chat_state"], update["agent_id"]) == ("assigned", ana.id)
        await sim.customer_says(A, "my order is late")
        said, _ = await wait_for(ws, "message.created", lambda d: d["sender_type"] == "customer")
        assert (said["session_id"], said["text"]) == (chat["id"], "my order is late")
        await ana.reply(chat["id"], "On it")
        reply, _ = await wait_for(ws, "message.created", lambda d: d["sender_type"] == "agent")
        assert (reply["session_id"], reply["sender_id"]) == (chat["id"], ana.id)
        await sim.customer_says(A, "end chat")
        ended, skipped = await wait_for(
            ws, "session.updated", lambda d: d["chat_state"] == "completed"
        )
        assert (ended["status"], ended["end_reason"]) == ("ended", "customer")
        assert "end chat" in [m["text"] for m in messages_of(skipped, chat["id"])]


async def test_admin_token_is_a_supervisor_feed(sim: Sim) -> None:
    """The admin token opens a feed that sees messages of chats it does not hold."""
    ana = await make_operator(sim, "Ana")
    async with feed(sim, ADMIN_TOKEN) as ws:
        chat = await open_chat(sim, A)
        await ana.next()
        await sim.customer_says(A, "hello?")
        said, _ = await wait_for(ws, "message.created", lambda d: d["text"] == "hello?")
        assert (said["session_id"], said["sender_type"]) == (chat["id"], "customer")


async def test_each_agent_gets_its_own_view(sim: Sim) -> None:
    """Two agents each holding a chat receive the customer messages of their own chat only."""
    ana, ben = await make_operator(sim, "Ana"), await make_operator(sim, "Ben")
    await open_chat(sim, A)
    await open_chat(sim, B)
    mine, theirs = await ana.next(), await ben.next()
    assert {mine["phone_number"], theirs["phone_number"]} == {A, B}
    async with feed(sim, ana.token) as wa, feed(sim, ben.token) as wb:
        await sim.customer_says(mine["phone_number"], "for Ana")
        await sim.customer_says(theirs["phone_number"], "for Ben")
        await sim.customer_taps("447700900003", "AGENT_MODE", "Talk to Expert")
        for ws, own, other, text in ((wa, mine, theirs, "for Ana"), (wb, theirs, mine, "for Ben")):
            _, before = await wait_for(
                ws, "session.created", lambda d: d["phone_number"] == "447700900003"
            )
            assert [m["text"] for m in messages_of(before, own["id"])] == [text]
            assert messages_of(before, other["id"]) == []


async def test_pool_release_reaches_the_queue_watchers(pool: Sim) -> None:
    """In pool, the customer's answer after a reply re-queues the chat for every agent."""
    sim = pool
    ana, ben = await make_operator(sim, "Ana"), await make_operator(sim, "Ben")
    chat = await open_chat(sim, A)
    await ana.next()
    async with feed(sim, ana.token) as wa, feed(sim, ben.token) as wb:
        await ana.reply(chat["id"], "Hi")
        released, _ = await wait_for(
            wa, "session.updated", lambda d: d["chat_state"] == "waiting_real_user_reply"
        )
        assert (released["agent_id"], released["last_operator_id"]) == (None, ana.id)
        await sim.customer_says(A, "one more thing")
        for ws in (wa, wb):
            back, _ = await wait_for(
                ws, "session.updated", lambda d: d["chat_state"] == "waiting_assignment"
            )
            assert back["id"] == chat["id"]
            queued, _ = await wait_for(ws, "queue.changed")
            assert queued == {"session_id": chat["id"], "change": "added"}


async def test_pool_answer_that_requeues_the_chat_reaches_agents(pool: Sim) -> None:
    """In pool, the customer message that puts a chat back in the queue reaches the agents."""
    sim = pool
    ana, ben = await make_operator(sim, "Ana"), await make_operator(sim, "Ben")
    chat = await open_chat(sim, A)
    await ana.next()
    await ana.reply(chat["id"], "Hi")
    async with feed(sim, ana.token) as wa, feed(sim, ben.token) as wb:
        await sim.customer_says(A, "one more thing")
        await sim.customer_says(A, "and another")
        for ws in (wa, wb):
            before = await marker(sim, ws, B)
            texts = [
                m["text"] for m in messages_of(before, chat["id"]) if m["sender_type"] == "customer"
            ]
            assert texts[-2:] == ["one more thing", "and another"]


async def frames_until(
    ws: ClientWebSocketResponse, event_type: str, match: Callable[[Event], bool] = lambda d: True
) -> list[Event]:
    """Whole frames (`seq`, `type`, `data`) up to and including the first that matches."""
    frames = []
    while True:
        frame = await ws.receive_json(timeout=5)
        frames.append(frame)
        if frame["type"] == event_type and match(frame["data"]):
            return frames


async def test_every_event_carries_an_increasing_seq(sim: Sim) -> None:
    """Each frame has an integer `seq`, larger than the hello's and than the one before."""
    supervisor = await make_operator(sim, "Sue", role="supervisor")
    ws = await connect(sim, supervisor.token)
    try:
        hello = await ws.receive_json(timeout=5)
        await open_chat(sim, A)
        frames = await frames_until(ws, "queue.changed")
    finally:
        await ws.close()
    seqs = [hello["seq"], *(f["seq"] for f in frames)]
    assert all(isinstance(s, int) for s in seqs)
    assert seqs == sorted(set(seqs)), seqs
    assert seqs[-1] == sim.runtime.events.last_seq


async def test_message_created_carries_the_message_as_the_api_shows_it(sim: Sim) -> None:
    """`message.created` holds the message in the API's message shape, the same JSON as
    the session's messages list, id and all."""
    supervisor = await make_operator(sim, "Sue", role="supervisor")
    session = await open_chat(sim, A)
    async with feed(sim, supervisor.token) as ws:
        await sim.customer_says(A, "my order is late")
        data, _ = await wait_for(ws, "message.created", lambda d: d["text"] == "my order is late")
    keys = {"id", "created_at", "sender_type", "sender_id", "text", "status", "session_id"}
    assert keys | {"conversation_id"} <= data.keys()
    listed = await sim.api("GET", f"/api/agent/sessions/{session['id']}/messages")
    assert data in listed["items"]


async def test_reconnect_with_since_replays_what_was_missed(sim: Sim) -> None:
    """A client that comes back with `?since=<last seq it saw>` first gets, in order, the
    events it missed that it may see, then live ones."""
    ana = await make_operator(sim, "Ana")
    ws = await connect(sim, ana.token)
    hello = await ws.receive_json(timeout=5)
    await ws.close()
    session = await open_chat(sim, A)  # missed while away
    missed_until = sim.runtime.events.last_seq
    back = await sim.client.ws_connect(f"/api/agent/ws?token={ana.token}&since={hello['seq']}")
    try:
        again = await back.receive_json(timeout=5)
        assert again["type"] == "hello" and again["seq"] == missed_until
        replayed = await frames_until(back, "queue.changed")
        assert [(f["type"], f["data"].get("text")) for f in replayed] == [
            ("message.created", "🙋 Connecting you to an agent..."),
            ("message.created", "Session started by the customer; waiting for an agent"),
            ("session.created", None),
            ("queue.changed", None),
        ]
        assert all(hello["seq"] < f["seq"] <= missed_until for f in replayed)
        assert replayed[-1]["data"] == {"session_id": session["id"], "change": "added"}
        await open_chat(sim, B)  # then live
        live, _ = await wait_for(back, "session.created", lambda d: d["phone_number"] == B)
        assert live["phone_number"] == B
    finally:
        await back.close()


async def test_reconnect_shows_only_what_the_caller_may_see(sim: Sim) -> None:
    """The replay is filtered like the live feed: another agent's chat stays hidden."""
    ana, ben = await make_operator(sim, "Ana"), await make_operator(sim, "Ben")
    ws = await connect(sim, ben.token)
    hello = await ws.receive_json(timeout=5)
    await ws.close()
    await open_chat(sim, A)
    taken = await ana.next()
    await ana.reply(taken["id"], "private to Ana's chat")
    back = await sim.client.ws_connect(f"/api/agent/ws?token={ben.token}&since={hello['seq']}")
    try:
        await back.receive_json(timeout=5)
        await open_chat(sim, B)
        _, replayed = await wait_for(back, "session.created", lambda d: d["phone_number"] == B)
    finally:
        await back.close()
    texts = [f["data"].get("text") for f in replayed if f["type"] == "message.created"]
    assert "private to Ana's chat" not in texts


async def test_since_older_than_the_ring_gets_one_resync(make_sim: MakeSim, db_path: Path) -> None:
    """When the missed events are no longer kept, the client gets one `resync`, then live
    events."""
    from gateway.settings import RealtimeSettings

    sim = await make_sim(settings_for(db_path, realtime=RealtimeSettings(events_kept=3)))
    ana = await make_operator(sim, "Ana")
    ws = await connect(sim, ana.token)
    hello = await ws.receive_json(timeout=5)
    await ws.close()
    await open_chat(sim, A)  # more than three events
    back = await sim.client.ws_connect(f"/api/agent/ws?token={ana.token}&since={hello['seq']}")
    try:
        assert (await back.receive_json(timeout=5))["type"] == "hello"
        resync = await back.receive_json(timeout=5)
        assert resync == {"seq": sim.runtime.events.last_seq, "type": "resync", "data": {}}
        await open_chat(sim, B)
        _, skipped = await wait_for(back, "session.created", lambda d: d["phone_number"] == B)
        assert all(f["type"] != "resync" for f in skipped)
    finally:
        await back.close()


async def test_seq_keeps_growing_across_a_restart(make_sim: MakeSim) -> None:
    """A gateway started again numbers its events above the last run's, and a client that
    comes back with a seq of the last run is told to reload."""
    first = await make_sim()
    ana = await make_operator(first, "Ana")
    await open_chat(first, A)
    before = first.runtime.events.last_seq
    await first.client.close()
    second = await make_sim()
    back = await second.client.ws_connect(f"/api/agent/ws?token={ana.token}&since={before}")
    try:
        hello = await back.receive_json(timeout=5)
        assert hello["type"] == "hello" and hello["seq"] > before
        assert (await back.receive_json(timeout=5))["type"] == "resync"
    finally:
        await back.close()


@pytest.mark.parametrize("since", ["abc", "-1", "1.5", "٣", "1" * 30])
async def test_a_bad_since_is_400(sim: Sim, since: str) -> None:
    """`since` is a seq: anything else is refused before the upgrade, naming the field."""
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await sim.client.ws_connect("/api/agent/ws", params={"token": ADMIN_TOKEN, "since": since})
    assert refused.value.status == 400
