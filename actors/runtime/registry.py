"""Actors by key: get-or-spawn, passivation of idle ones, quiescence."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from actors.runtime.actor import Actor
from actors.runtime.errors import ActorStopped

A = TypeVar("A", bound=Actor[Any])
OnBusy = Callable[[Actor[Any], bool], None]
# Makes the actor of a key: (key, mailbox capacity, the registry's busy callback).
Spawn = Callable[[str, int, OnBusy], A]


class Registry(Generic[A]):
    """Holds the live actors. An actor absent from memory is made again (`spawn`) on the
    next message; one that stopped after a failure is replaced by a fresh one, which takes
    over the mail it left. `on_drained(key)` is told whenever an actor's mailbox empties."""

    def __init__(
        self, spawn: Spawn[A], capacity: int, on_drained: Callable[[str], None] | None = None
    ) -> None:
        self._spawn = spawn
        self._capacity = capacity
        self._on_drained = on_drained
        self._actors: dict[str, A] = {}
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False
        self.spawned = 0
        self.passivated = 0
        # One bound method for every actor (a new one per actor would be 64 B each).
        self._busy_callback = self._on_busy

    def __len__(self) -> int:
        return len(self._actors)

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def busy(self) -> int:
        return self._busy

    @property
    def idle(self) -> bool:
        return self._busy == 0

    def mailbox_depth(self) -> int:
        return sum(len(a) for a in self._actors.values())

    def _get(self, key: str) -> A:
        actor = self._actors.get(key)
        if actor is None or actor.stopped:
            if self._closed:
                raise ActorStopped(key)
            actor = self._spawn(key, self._capacity, self._busy_callback)
            self._actors[key] = actor
            self.spawned += 1
        return actor

    def has_room(self, key: str) -> bool:
        actor = self._actors.get(key)
        return actor is None or actor.stopped or actor.has_room()

    def queued(self, key: str) -> int:
        """How much mail that actor has waiting."""
        actor = self._actors.get(key)
        return 0 if actor is None else len(actor)

    def is_busy(self, key: str) -> bool:
        """Whether that actor is processing mail (and so will drain)."""
        actor = self._actors.get(key)
        return actor is not None and actor.busy

    def tell(self, key: str, message: Any, *, inbox_id: int = 0) -> None:
        """MailboxFull when that actor's mailbox is full."""
        self._get(key).tell(message, inbox_id=inbox_id)

    def ask(self, key: str, message: Any) -> asyncio.Future[Any]:
        return self._get(key).ask(message)

    def track(self, actor: Actor[Any], busy: bool) -> None:
        """Count another actor (the desk) in quiescence."""
        self._on_busy(actor, busy)

    def _on_busy(self, actor: Actor[Any], busy: bool) -> None:
        if busy:
            self._busy += 1
            self._idle.clear()
            return
        self._busy -= 1
        mine = self._actors.get(actor.name) is actor
        if actor.stopped and mine:
            del self._actors[actor.name]
            leftovers, actor.leftovers = actor.leftovers or [], None
            if leftovers and not self._closed:
                fresh = self._get(actor.name)
                for envelope in leftovers:
                    fresh.requeue(envelope)
        elif mine and self._on_drained is not None and not self._closed:
            self._on_drained(actor.name)
        if self._busy == 0:
            self._idle.set()

    async def wait_idle(self) -> None:
        while self._busy:
            await self._idle.wait()

    def passivate(self, older_than: float) -> int:
        """Drop idle actors last active before `older_than` (loop time); returns how many."""
        stale = [
            key
            for key, a in self._actors.items()
            if not a.busy and not len(a) and a.last_active < older_than
        ]
        for key in stale:
            del self._actors[key]
        self.passivated += len(stale)
        return len(stale)

    async def stop(self) -> None:
        """Stop every actor after the mail it already has; no new actors after this."""
        self._closed = True
        for actor in list(self._actors.values()):
            actor.stop()
        await self.wait_idle()
        self._actors.clear()
