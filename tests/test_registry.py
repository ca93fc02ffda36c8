"""actors.runtime.registry: actors made on first mail, replaced after a failure with their
mail handed over, told when they drain, passivated when idle, stopped after their mail."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import pytest

from actors.runtime.actor import Actor
from actors.runtime.errors import ActorStopped, MailboxFull
from actors.runtime.registry import OnBusy, Registry


class Echo(Actor[Any]):
    made: ClassVar[list[str]] = []

    def __init__(self, key: str, capacity: int, on_busy: OnBusy) -> None:
        super().__init__(key, capacity, on_busy)
        self.seen: list[Any] = []
        Echo.made.append(key)

    async def handle(self, message: Any, inbox_id: int) -> Any:
        await asyncio.sleep(0)
        if message == "boom":
            raise RuntimeError("boom")
        self.seen.append(message)
        return message


@pytest.fixture(autouse=True)
def _forget() -> None:
    Echo.made = []


async def test_an_actor_is_made_on_its_first_mail() -> None:
    registry: Registry[Echo] = Registry(Echo, capacity=4)
    assert await registry.ask("a", 1) == 1
    assert await registry.ask("a", 2) == 2
    assert Echo.made == ["a"] and len(registry) == 1 and registry.spawned == 1


async def test_a_full_mailbox_is_refused() -> None:
    """tell says MailboxFull at the bound; has_room says so first."""
    registry: Registry[Echo] = Registry(Echo, capacity=2)
    registry.tell("a", 1)
    registry.tell("a", 2)
    assert not registry.has_room("a") and registry.queued("a") == 2
    with pytest.raises(MailboxFull):
        registry.tell("a", 3)
    await registry.wait_idle()
    assert registry.has_room("a")


async def test_a_failed_actor_is_replaced_and_keeps_its_mail() -> None:
    """Mail queued behind a failure goes to a fresh actor of the same key."""
    registry: Registry[Echo] = Registry(Echo, capacity=4)
    failing = registry.ask("a", "boom")
    registry.tell("a", "after")
    with pytest.raises(RuntimeError):
        await failing
    await registry.wait_idle()
    assert Echo.made == ["a", "a"]
    assert await registry.ask("a", "next") == "next"


async def test_drained_is_told_when_a_mailbox_empties() -> None:
    drained: list[str] = []
    registry: Registry[Echo] = Registry(Echo, capacity=4, on_drained=drained.append)
    registry.tell("a", 1)
    registry.tell("a", 2)
    registry.tell("b", 1)
    await registry.wait_idle()
    assert sorted(drained) == ["a", "b"]


async def test_idle_actors_are_passivated_and_made_again() -> None:
    registry: Registry[Echo] = Registry(Echo, capacity=4)
    await registry.ask("a", 1)
    loop = asyncio.get_running_loop()
    assert registry.passivate(loop.time() + 1) == 1 and len(registry) == 0
    await registry.ask("a", 2)
    assert Echo.made == ["a", "a"]


async def test_stop_finishes_the_mail_and_refuses_new_actors() -> None:
    registry: Registry[Echo] = Registry(Echo, capacity=4)
    queued = registry.ask("a", 1)
    await registry.stop()
    assert await queued == 1
    with pytest.raises(ActorStopped):
        registry.tell("b", 1)
