"""What an agent reads, on every read path: a session it holds, one that waits, one nobody
holds that it answered last, and the ended sessions it handled; never a live chat another
operator has now, even one it held before (who hands a chat over stops reading it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from actors.conversation.policy import AssignmentSettings
from tests.conftest import MakeSim
from tests.sim import Operator, Sim, make_operator, session_of, settings_for
from tests.test_realtime import feed, marker, messages_of

S = "/api/agent/sessions"
PHONE, OTHER, MARK = "447700900123", "447700900456", "447700900789"


def reads(session_id: str) -> list[str]:
    """The GET paths that read one session (media is in test_media)."""
    return [f"{S}/{session_id}", f"{S}/{session_id}/messages", f"{S}/{session_id}/context"]


async def readable(who: Operator, session_id: str) -> bool:
    """Whether the read paths let `who` in (they all agree, or the test fails)."""
    statuses = {}
    for path in reads(session_id):
        response = await who.sim.client.get(path, headers={"Authorization": f"Bearer {who.token}"})
        statuses[path] = response.status
    assert set(statuses.values()) in ({200}, {403}), statuses
    return set(statuses.values()) == {200}


async def history_ids(who: Operator, query: str = "") -> set[str]:
    found = await who.api("GET", f"{S}/history{query}")
    return {s["id"] for s in found["items"]}


async def handover(sim: Sim) -> tuple[Operator, Operator, Operator, str]:
    """Ana takes a chat and answers; a supervisor, Sue, takes it from her (release, then
    assign to Cleo); Cleo answers and the customer writes back."""
    ana, cleo = await make_operator(sim, "Ana"), await make_operator(sim, "Cleo")
    sue = await make_operator(sim, "Sue", "supervisor")
    await sim.customer_says(PHONE, "hello")
    await sim.customer_taps(PHONE, "AGENT_MODE", "Talk to Expert")
    session_id: str = (await session_of(sim, PHONE))["id"]
    await ana.api("POST", f"{S}/{session_id}/assign", body={})
    await ana.reply(session_id, "Ana here")
    assert await readable(ana, session_id)
    await ana.api("POST", f"{S}/{session_id}/release", body={"reason": "shift over"})
    assert await readable(ana, session_id), "a waiting chat is everyone's"
    await sue.api("POST", f"{S}/{session_id}/assign", body={"agent_id": cleo.id})
    return ana, cleo, sue, session_id


async def test_who_hands_a_chat_over_stops_reading_it(sim: Sim) -> None:
    """Every read path: Ana is refused the chat Cleo holds now; Cleo and Sue read it."""
    ana, cleo, sue, session_id = await handover(sim)
    await cleo.reply(session_id, "Cleo's words")
    await sim.customer_says(PHONE, "words for Cleo")
    assert not await readable(ana, session_id)
    assert await readable(cleo, session_id) and await readable(sue, session_id)
    for path in reads(session_id):
        refused = await ana.api("GET", path, expect=403)
        assert refused["error"]["code"] == "forbidden"
        assert "Cleo's words" not in str(refused)


async def test_history_search_hides_a_chat_handed_over_until_it_ends(sim: Sim) -> None:
    """Ana's history (searched by the customer's phone too) lists it while it waits, not
    while Cleo holds it, and again once it has ended."""
    ana, cleo, sue, session_id = await handover(sim)
    for query in ("", f"?search={PHONE}", "?status=active"):
        assert session_id not in await history_ids(ana, query), query
    assert session_id in await history_ids(cleo)
    assert session_id in await history_ids(sue, f"?agent_id={ana.id}")
    listed = await ana.api("GET", f"{S}/history")
    assert listed["total"] == len(listed["items"]) == 0
    await cleo.api("POST", f"{S}/{session_id}/end", body={})
    assert session_id in await history_ids(ana, f"?search={PHONE}")
    assert await readable(ana, session_id), "an ended session it handled is its history"


async def test_an_agent_that_never_handled_an_ended_session_does_not_read_it(sim: Sim) -> None:
    ana, cleo, _, session_id = await handover(sim)
    ben = await make_operator(sim, "Ben")
    await cleo.api("POST", f"{S}/{session_id}/end", body={})
    assert not await readable(ben, session_id)
    assert session_id not in await history_ids(ben)
    assert await readable(ana, session_id) and await readable(cleo, session_id)


async def test_the_feed_stops_at_the_handover(sim: Sim) -> None:
    """Ana's open socket gets the chat up to the handover, nothing of Cleo's part; a
    reconnect with `since` replays none of it either."""
    ana = await make_operator(sim, "Ana")
    async with feed(sim, ana.token) as ws:
        start = sim.runtime.events.last_seq
        _, cleo, sue, session_id = await handover_with(sim, ana)
        await cleo.reply(session_id, "Cleo's words")
        await sim.customer_says(PHONE, "words for Cleo")
        await sue.reply(session_id, "Sue's words")
        before = await marker(sim, ws, MARK)
    texts = [m["text"] for m in messages_of(before, session_id)]
    assert "Ana here" in texts
    for private in ("Cleo's words", "words for Cleo", "Sue's words"):
        assert private not in texts
    assert [e["data"]["agent_id"] for e in before if e["type"] == "session.updated"] == [
        ana.id,
        ana.id,  # waiting for the customer's answer, still hers (sticky)
        None,  # released: in the queue
    ]
    back = await sim.client.ws_connect(f"/api/agent/ws?token={ana.token}&since={start}")
    try:
        await back.receive_json(timeout=5)
        replayed = await marker(sim, back, "447700900790")
    finally:
        await back.close()
    texts = [m["text"] for m in messages_of(replayed, session_id)]
    assert "Ana here" in texts and "Cleo's words" not in texts and "Sue's words" not in texts


async def handover_with(sim: Sim, ana: Operator) -> tuple[Operator, Operator, Operator, str]:
    """`handover`, with an Ana made before (whose socket is open)."""
    cleo = await make_operator(sim, "Cleo")
    sue = await make_operator(sim, "Sue", "supervisor")
    await sim.customer_taps(PHONE, "AGENT_MODE", "Talk to Expert")
    session_id: str = (await session_of(sim, PHONE))["id"]
    await ana.api("POST", f"{S}/{session_id}/assign", body={})
    await ana.reply(session_id, "Ana here")
    await ana.api("POST", f"{S}/{session_id}/release", body={})
    await sue.api("POST", f"{S}/{session_id}/assign", body={"agent_id": cleo.id})
    return ana, cleo, sue, session_id


async def test_a_refusal_carries_no_copy_of_the_chat(sim: Sim) -> None:
    """Ana's commands on the chat she handed over are refused without the session."""
    ana, _, _, session_id = await handover(sim)
    for action, body in (("assign", {}), ("messages", {"text": "x"}), ("release", {})):
        refused: dict[str, Any] = await ana.api(
            "POST", f"{S}/{session_id}/{action}", body=body, expect=409
        )
        assert "session" not in refused, action
    mine = await ana.api("GET", f"{S}/my-chats/{ana.id}")
    assert mine["items"] == []


@pytest.fixture
async def pool(make_sim: MakeSim, db_path: Path) -> Sim:
    return await make_sim(settings_for(db_path, assignment=AssignmentSettings(policy="pool")))


async def test_pool_the_last_to_answer_reads_the_unheld_chat_until_another_takes_it(
    pool: Sim,
) -> None:
    """In `pool` a reply releases the operator: Ana still reads the chat awaiting the
    customer's answer (nobody holds it), Ben does not; once Ben takes it, Ana does not."""
    sim = pool
    ana, ben = await make_operator(sim, "Ana"), await make_operator(sim, "Ben")
    await sim.customer_taps(PHONE, "AGENT_MODE", "Talk to Expert")
    session_id: str = (await ana.next())["id"]
    await ana.reply(session_id, "Ana here")
    answered = await session_of(sim, PHONE)
    assert (answered["chat_state"], answered["agent_id"]) == ("waiting_real_user_reply", None)
    assert await readable(ana, session_id) and not await readable(ben, session_id)
    assert session_id in await history_ids(ana)
    await sim.customer_says(PHONE, "one more question")  # back in the queue
    assert await readable(ana, session_id) and await readable(ben, session_id)
    assert (await ben.next())["id"] == session_id
    await ben.reply(session_id, "Ben here")
    assert not await readable(ana, session_id) and await readable(ben, session_id)
    assert session_id not in await history_ids(ana)
    await sim.customer_taps(OTHER, "AGENT_MODE", "Talk to Expert")  # unrelated: still fine
    assert await readable(ana, (await session_of(sim, OTHER))["id"])
