"""The actor runtime: bounded mailboxes, ordered handling, stop, failure isolation."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from actors.runtime.actor import Actor, Stop
from actors.runtime.errors import ActorStopped, MailboxFull


class Recorder(Actor[Any]):
    def __init__(self, capacity: int = 4) -> None:
        self.seen: list[Any] = []
        self.busy_changes: list[bool] = []
        super().__init__("rec", capacity, lambda _a, busy: self.busy_changes.append(busy))

    async def handle(self, message: Any, inbox_id: int) -> Any:
        await asyncio.sleep(0)
        if message == "boom":
            raise RuntimeError("boom")
        self.seen.append(message)
        return f"ok {message}"


async def test_messages_are_handled_one_at_a_time_in_order() -> None:
    """Mail is processed in arrival order; ask returns the handler's answer."""
    actor = Recorder()
    actor.tell(1)
    actor.tell(2)
    assert await actor.ask(3) == "ok 3"
    assert actor.seen == [1, 2, 3]
    assert actor.busy_changes == [True, False]


async def test_full_mailbox_refuses_every_kind_of_mail() -> None:
    """A bounded mailbox says MailboxFull to tell and ask alike; there is no way past it."""
    actor = Recorder(capacity=2)
    actor.tell(1)
    actor.tell(2)
    with pytest.raises(MailboxFull):
        actor.tell(3)
    with pytest.raises(MailboxFull):
        actor.ask(3)
    assert not actor.has_room()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    await actor.ask(3)
    assert actor.seen == [1, 2, 3]


async def test_stop_is_handled_in_order_and_fails_later_asks() -> None:
    """Mail before Stop is handled; a Stop queued as mail fails the asks behind it."""
    actor = Recorder()
    first = actor.ask(1)
    actor.tell(Stop())
    late = actor.ask(2)
    assert await first == "ok 1"
    with pytest.raises(ActorStopped):
        await late
    with pytest.raises(ActorStopped):
        actor.tell(3)


async def test_stop_waits_behind_a_full_mailbox_and_refuses_what_follows() -> None:
    """`stop()` queues its Stop even when the mailbox is full, after the mail there; from
    then on mail is refused at once."""
    actor = Recorder(capacity=2)
    first, second = actor.ask(1), actor.ask(2)
    actor.stop()
    with pytest.raises(ActorStopped):
        actor.tell(3)
    assert (await first, await second) == ("ok 1", "ok 2")
    await asyncio.sleep(0)
    assert actor.stopped and actor.seen == [1, 2]


async def test_failure_stops_only_this_actor_and_keeps_its_mail() -> None:
    """A handler error fails that ask, stops the actor, and leaves later mail for a
    replacement (the registry hands it over)."""
    actor = Recorder()
    failing = actor.ask("boom")
    actor.tell("after")
    with pytest.raises(RuntimeError):
        await failing
    assert actor.stopped
    assert [e.message for e in actor.leftovers] == ["after"]
