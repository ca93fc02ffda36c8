"""actors.runtime.supervision, and the desk it keeps alive: an actor that failed on a bug
is replaced at the next call, rebuilds its state, and serves again."""

from __future__ import annotations

from typing import Any

import pytest

from actors.desk.desk import Desk
from actors.runtime.actor import Actor
from actors.runtime.supervision import Supervisor
from tests.sim import Sim, make_operator


class Flaky(Actor[Any]):
    def __init__(self) -> None:
        super().__init__("flaky", 8, lambda _a, _b: None)

    async def handle(self, message: Any, inbox_id: int) -> Any:
        if message == "boom":
            raise RuntimeError("a bug")
        return message


async def test_a_failed_actor_is_replaced_on_the_next_call() -> None:
    supervisor = Supervisor(Flaky)
    first = supervisor.actor
    with pytest.raises(RuntimeError):
        await first.ask("boom")
    assert first.stopped
    second = supervisor.actor
    assert second is not first and supervisor.restarts == 1
    assert await second.ask("hi") == "hi"


async def test_no_restart_after_close() -> None:
    supervisor = Supervisor(Flaky)
    supervisor.close()
    assert supervisor.actor.stopped or supervisor.actor is supervisor.actor
    assert supervisor.restarts == 0


async def test_a_failing_desk_restarts_and_keeps_handing_out_chats(
    sim: Sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The desk fails on a bug; the next `next` gets a fresh desk that rebuilt its queue
    from the store, and the chat is handed out."""
    ana = await make_operator(sim, "Ana")
    await sim.customer_taps("447700900001", "AGENT_MODE", "Talk to Expert")
    desk = sim.runtime.desk

    async def broken(self: Desk, operator_id: str) -> Any:
        raise RuntimeError("a bug in the desk")

    monkeypatch.setattr(Desk, "_next", broken)
    await ana.next(expect=500)
    monkeypatch.undo()
    assert desk.stopped
    taken = await ana.next()
    assert taken["chat_state"] == "assigned" and taken["agent_id"] == ana.id
    assert sim.runtime.desk is not desk
