"""Seed 004's "Testing Checklist", Tests 1 to 5, every bullet, with the `pool` policy (an
operator is released when it replies; the chat returns to the queue when the customer
writes), plus the capacity and concurrency rules of the desk."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.settings import AssignmentSettings
from tests.conftest import MakeSim
from tests.sim import Sim, make_operator, session_of, settings_for

A, B, C = "447700900001", "447700900002", "447700900003"


@pytest.fixture
async def pool(make_sim: MakeSim, db_path: Path) -> Sim:
    return await make_sim(settings_for(db_path, assignment=AssignmentSettings(policy="pool")))


async def open_chat(sim: Sim, phone: str) -> dict[str, Any]:
    """A real user asks for a human (the chat waits for an operator)."""
    await sim.customer_taps(phone, "AGENT_MODE", "Talk to Expert")
    return await session_of(sim, phone)


async def state_of(sim: Sim, session_id: str) -> str:
    found = await sim.api("GET", f"/api/agent/sessions/{session_id}")
    return str(found["chat_state"])


async def test_1_normal_flow(pool: Sim) -> None:
    """Test 1: waiting_assignment -> assigned -> waiting_real_user_reply -> a different
    chat for the operator -> waiting_assignment when the user replies."""
    sim = pool
    op = await make_operator(sim, "Ana")
    x = await open_chat(sim, A)
    assert await state_of(sim, x["id"]) == "waiting_assignment"
    got = await op.next()
    assert (got["id"], got["chat_state"]) == (x["id"], "assigned")
    y = await open_chat(sim, B)
    await op.reply(x["id"], "Hello!")
    assert await state_of(sim, x["id"]) == "waiting_real_user_reply"
    got = await op.next()
    assert got["id"] == y["id"]
    await sim.customer_says(A, "thanks, one more thing")
    assert await state_of(sim, x["id"]) == "waiting_assignment"


async def test_2_same_operator_prevention(pool: Sim) -> None:
    """Test 2: A replied to X, the user answered; A's next is another chat; B gets X."""
    sim = pool
    ana, ben = await make_operator(sim, "Ana"), await make_operator(sim, "Ben")
    x = await open_chat(sim, A)
    assert (await ana.next())["id"] == x["id"]
    await ana.reply(x["id"], "Hi")
    await sim.customer_says(A, "still broken")
    y = await open_chat(sim, B)
    got = await ana.next()
    assert got["id"] == y["id"], "A must not get the chat it just handled while another waits"
    assert (await ben.next())["id"] == x["id"]


async def test_2b_same_operator_gets_it_back_when_nothing_else_waits(pool: Sim) -> None:
    """With no other chat waiting, the operator who handled it may get it again."""
    sim = pool
    ana = await make_operator(sim, "Ana")
    x = await open_chat(sim, A)
    await ana.next()
    await ana.reply(x["id"], "Hi")
    await sim.customer_says(A, "more")
    assert (await ana.next())["id"] == x["id"]


async def test_3_idle_detection(pool: Sim) -> None:
    """Test 3: an assigned operator silent for 5 min is released; after a reply, idle
    detection leaves the chat alone."""
    sim = pool
    ana = await make_operator(sim, "Ana")
    x = await open_chat(sim, A)
    await ana.next()
    await sim.advance(timedelta(minutes=5) - timedelta(seconds=1))
    assert await state_of(sim, x["id"]) == "assigned"
    await sim.advance(timedelta(seconds=1))
    assert await state_of(sim, x["id"]) == "waiting_assignment"
    detail = await sim.api("GET", f"/api/agent/sessions/{x['id']}")
    assert detail["assignments"][-1]["reason"] == "idle"
    assert (await ana.next())["id"] == x["id"]
    await ana.reply(x["id"], "Sorry for the wait")
    assert await state_of(sim, x["id"]) == "waiting_real_user_reply"
    await sim.advance(timedelta(minutes=30))
    assert await state_of(sim, x["id"]) == "waiting_real_user_reply"


async def test_4_manual_unassignment(pool: Sim) -> None:
    """Test 4: a supervisor unassigns: waiting_assignment, and another operator can get it."""
    sim = pool
    ana, ben = await make_operator(sim, "Ana"), await make_operator(sim, "Ben")
    x = await open_chat(sim, A)
    await ana.next()
    released = await sim.api(
        "POST", f"/api/agent/sessions/{x['id']}/release", body={"reason": "reshuffle"}
    )
    assert released["chat_state"] == "waiting_assignment"
    assert released["agent_id"] is None
    assert (await ben.next())["id"] == x["id"]


async def test_5_user_message_while_assigned(pool: Sim) -> None:
    """Test 5: the user writes while an operator is assigned: back to waiting_assignment."""
    sim = pool
    ana = await make_operator(sim, "Ana")
    x = await open_chat(sim, A)
    await ana.next()
    await sim.customer_says(A, "hello?")
    assert await state_of(sim, x["id"]) == "waiting_assignment"


async def test_5_simultaneous_requests_get_one_each(pool: Sim) -> None:
    """Test 5: many operators ask at once for fewer chats: each chat to exactly one
    operator, nobody beyond capacity, the rest get 204."""
    sim = pool
    operators = [await make_operator(sim, f"Op{i}") for i in range(8)]
    chats = [await open_chat(sim, f"4477009001{i:02d}") for i in range(3)]
    answers = await asyncio.gather(*(op.next(expect=None) for op in operators))
    given = [a["id"] for a in answers if isinstance(a, dict) and "id" in a]
    assert sorted(given) == sorted(c["id"] for c in chats)
    holders = [a["agent_id"] for a in answers if isinstance(a, dict) and "id" in a]
    assert len(set(holders)) == 3
    states = await sim.api("GET", "/api/monitor/chat-states")
    assert states["assigned"] == 3


async def test_5_operator_at_capacity_is_rejected(pool: Sim) -> None:
    """Test 5: an operator holding a chat asks for another: 409 already_assigned."""
    sim = pool
    ana = await make_operator(sim, "Ana")
    await open_chat(sim, A)
    await open_chat(sim, B)
    await ana.next()
    refused = await ana.next(expect=409)
    assert refused["error"]["code"] == "already_assigned"


async def test_nothing_waiting_is_204(pool: Sim) -> None:
    """`next` with an empty queue answers 204."""
    ana = await make_operator(pool, "Ana")
    response = await pool.client.post(
        "/api/operator/next", headers={"Authorization": f"Bearer {ana.token}"}
    )
    assert response.status == 204


async def test_assign_conflicts(pool: Sim) -> None:
    """Assigning a chat another operator holds is 409; an ended one too."""
    sim = pool
    ana, ben = await make_operator(sim, "Ana"), await make_operator(sim, "Ben")
    x = await open_chat(sim, A)
    await ana.api("POST", f"/api/agent/sessions/{x['id']}/assign", body={})
    taken = await ben.api("POST", f"/api/agent/sessions/{x['id']}/assign", body={}, expect=409)
    assert taken["error"]["code"] == "held_by_other"
    await ana.api("POST", f"/api/agent/sessions/{x['id']}/end", body={})
    ended = await ben.api("POST", f"/api/agent/sessions/{x['id']}/assign", body={}, expect=409)
    assert ended["error"]["code"] == "session_ended"


async def test_sticky_keeps_the_chat_with_its_agent(sim: Sim) -> None:
    """`sticky` (the default): the reply keeps the chat with the agent, and the customer's
    answer brings it back to that agent, not to the queue."""
    ana = await make_operator(sim, "Ana")
    x = await open_chat(sim, A)
    await ana.next()
    await ana.reply(x["id"], "Hi")
    detail = await sim.api("GET", f"/api/agent/sessions/{x['id']}")
    assert (detail["chat_state"], detail["agent_id"]) == ("waiting_real_user_reply", ana.id)
    await sim.customer_says(A, "thanks")
    detail = await sim.api("GET", f"/api/agent/sessions/{x['id']}")
    assert (detail["chat_state"], detail["agent_id"]) == ("assigned", ana.id)
    assert (await ana.next(expect=409))["error"]["code"] == "already_assigned"


async def test_assignment_history_and_monitoring(pool: Sim) -> None:
    """chat_assignments records each assignment; the monitoring endpoints report it."""
    sim = pool
    ana = await make_operator(sim, "Ana")
    await open_chat(sim, A)
    await open_chat(sim, B)
    await sim.advance(timedelta(minutes=2))
    got = await ana.next()
    await sim.advance(timedelta(seconds=30))
    await ana.reply(got["id"], "Hi")

    queue = await sim.api("GET", "/api/monitor/queue")
    assert queue["waiting"] == 1
    assert queue["oldest_wait_seconds"] == pytest.approx(150)
    assert (queue["operators_busy"], queue["operators_free"]) == (0, 1)
    stats = await sim.api("GET", "/api/monitor/operators?hours=24")
    [row] = stats["items"]
    assert (row["operator_id"], row["total_assignments"], row["completed"]) == (ana.id, 1, 1)
    assert row["avg_response_seconds"] == pytest.approx(30)
    stuck = await sim.api("GET", "/api/monitor/stuck?hours=1")
    assert stuck["total"] == 0
    await sim.advance(timedelta(hours=2))
    stuck = await sim.api("GET", "/api/monitor/stuck?hours=1")
    assert stuck["total"] == 2
    operators = await sim.api("GET", "/api/operators")
    assert [o["state"] for o in operators["items"]] == ["free"]


async def test_restart_keeps_idle_and_expiry_deadlines(make_sim: MakeSim, db_path: Path) -> None:
    """Restart during a session: the idle release and the 22 h expiry fire on time."""
    settings = settings_for(db_path, assignment=AssignmentSettings(policy="pool"))
    first = await make_sim(settings)
    start = first.now()
    ana = await make_operator(first, "Ana")
    x = await open_chat(first, A)
    await ana.next()
    await first.client.close()

    second = await make_sim(settings)
    await second.advance(start + timedelta(minutes=5) - second.now() - timedelta(seconds=1))
    assert await state_of(second, x["id"]) == "assigned"
    await second.advance(timedelta(seconds=1))
    assert await state_of(second, x["id"]) == "waiting_assignment"
    await second.advance(start + timedelta(hours=22) - second.now())
    detail = await second.api("GET", f"/api/agent/sessions/{x['id']}")
    assert (detail["status"], detail["end_reason"]) == ("ended", "expired")
