"""Session ids are random: two sessions of one customer get unrelated ids, an id carries
nothing of the phone, so a 403 against a 404 tells an agent nothing; ids made before (derived
from the conversation) still work."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import msgspec

from actors.conversation.effects import Effect
from actors.conversation.keys import conversation_id
from actors.conversation.policy import Policy
from actors.conversation.sessions import start_session
from actors.conversation.state import new_conversation
from actors.conversation.step import deadlines
from actors.conversation.step_commit import build
from tests.conftest import MakeSim
from tests.sim import BUSINESS, Sim, make_operator, session_of, settings_for

S = "/api/agent/sessions"
PHONE, OTHER = "447700900123", "447700900456"
RANDOM_ID = re.compile(r"^s_[0-9a-f]{24}$")


async def start_and_end(sim: Sim, phone: str) -> str:
    await sim.customer_taps(phone, "AGENT_MODE", "Talk to Expert")
    session_id: str = (await session_of(sim, phone))["id"]
    await sim.customer_says(phone, "end chat")
    return session_id


def shared_runs(a: str, b: str, size: int = 6) -> set[str]:
    """Runs of `size` characters that both ids hold (after their common `s_`)."""
    runs = {a[i : i + size] for i in range(2, len(a) - size + 1)}
    return {r for r in runs if r in b[2:]}


async def test_two_sessions_of_one_customer_get_unrelated_ids(sim: Sim) -> None:
    first = await start_and_end(sim, PHONE)
    await sim.advance(timedelta(minutes=1))
    second = await start_and_end(sim, PHONE)
    other = await start_and_end(sim, OTHER)
    cid = (await sim.conversation(PHONE))["id"]
    for session_id in (first, second, other):
        assert RANDOM_ID.match(session_id), session_id
        assert PHONE[-6:] not in session_id and OTHER[-6:] not in session_id
        assert cid.removeprefix("c_")[:6] not in session_id
    assert len({first, second, other}) == 3
    assert not shared_runs(first, second), (first, second)  # not a counter on one stem
    history = await sim.api("GET", f"{S}/history?search={PHONE}")
    assert [s["id"] for s in history["items"]] == [second, first]


async def test_the_same_customer_on_another_gateway_gets_another_id(
    make_sim: MakeSim, tmp_path: Path
) -> None:
    """An id is no function of the phone: a fresh database gives the same customer a
    different one."""
    here = await make_sim(settings_for(tmp_path / "one.db"))
    there = await make_sim(settings_for(tmp_path / "two.db"))
    await here.customer_taps(PHONE, "AGENT_MODE", "Talk to Expert")
    await there.customer_taps(PHONE, "AGENT_MODE", "Talk to Expert")
    ids = [(await session_of(sim, PHONE))["id"] for sim in (here, there)]
    assert ids[0] != ids[1]
    assert (await here.conversation(PHONE))["id"] == (await there.conversation(PHONE))["id"]


async def test_a_guessed_id_is_404_whether_the_customer_has_a_session_or_not(sim: Sim) -> None:
    """The id an agent could compute from a phone (the old form) finds nothing: 404 for a
    customer with a session as for one without, never the 403 that would tell them apart."""
    ana = await make_operator(sim, "Ana")
    ben = await make_operator(sim, "Ben")
    await sim.customer_taps(PHONE, "AGENT_MODE", "Talk to Expert")
    real = (await session_of(sim, PHONE))["id"]
    await ben.api("POST", f"{S}/{real}/assign", body={})
    await ana.api("GET", f"{S}/{real}", expect=403)  # held by Ben: the real id is refused
    for phone in (PHONE, OTHER):
        guess = f"{conversation_id(BUSINESS, phone)}.s1"
        for path in (f"{S}/{guess}", f"{S}/{guess}/messages", f"{S}/{guess}/context"):
            answer = await ana.api("GET", path, expect=404)
            assert answer["error"]["code"] == "not_found"


async def test_a_session_made_before_ids_were_random_still_works(sim: Sim) -> None:
    """A snapshot holding a session with a derived id (an older database) is read, answered
    and ended by that id."""
    cid = conversation_id(BUSINESS, PHONE)
    legacy = f"{cid}.s1"
    now = sim.now()
    policy: Policy = sim.runtime.policy_for(BUSINESS)
    state = new_conversation(cid, BUSINESS, PHONE, now, PHONE, "Dana")
    state = msgspec.structs.replace(state, next_session_id=legacy, last_inbound_at=now)
    fx: list[Effect] = []
    state = start_session(state, now, policy, fx)
    built = build(None, state, fx, now, deadlines(state, policy), 0, sim.runtime.store)
    await sim.runtime.store.commit_step(built.commit)

    ana = await make_operator(sim, "Ana")
    assert (await ana.api("GET", f"{S}/{legacy}"))["status"] == "waiting"
    taken = await ana.next()
    assert taken["id"] == legacy
    await ana.reply(legacy, "Hello from before")
    await sim.customer_says(PHONE, "thanks")
    texts = [m["text"] for m in (await ana.api("GET", f"{S}/{legacy}/messages"))["items"]]
    assert "Hello from before" in texts and "thanks" in texts
    ended = await ana.api("POST", f"{S}/{legacy}/end", body={})
    assert (ended["id"], ended["status"]) == (legacy, "ended")
    await sim.customer_taps(PHONE, "AGENT_MODE", "Talk to Expert")
    assert RANDOM_ID.match((await session_of(sim, PHONE))["id"])
