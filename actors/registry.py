"""Conversation actors by id: get-or-spawn, passivation of idle ones, quiescence."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from actors.actor import Actor, Stop
from actors.conversation import ActorContext, ConversationActor
from actors.errors import ActorStopped
from actors.messages import Message

log = structlog.get_logger("registry")


class Registry:
    """Holds the live actors. An actor absent from memory is revived from its snapshot on
    the next message; one that stopped after a failure is replaced by a fresh one."""

    def __init__(self, ctx: ActorContext, capacity: int) -> None:
        self._ctx = ctx
        self._capacity = capacity
        self._actors: dict[str, ConversationActor] = {}
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False
        self.spawned = 0
        self.passivated = 0

    def __len__(self) -> int:
        return len(self._actors)

    @property
    def busy(self) -> int:
        return self._busy

    @property
    def idle(self) -> bool:
        return self._busy == 0

    def mailbox_depth(self) -> int:
        return sum(len(a) for a in self._actors.values())

    def _get(self, conversation_id: str) -> ConversationActor:
        actor = self._actors.get(conversation_id)
        if actor is None or actor.stopped:
            if self._closed:
                raise ActorStopped(conversation_id)
            actor = ConversationActor(conversation_id, self._ctx, self._capacity, self._on_busy)
            self._actors[conversation_id] = actor
            self.spawned += 1
        return actor

    def has_room(self, conversation_id: str) -> bool:
        actor = self._actors.get(conversation_id)
        return actor is None or actor.stopped or actor.has_room()

    def tell(
        self, conversation_id: str, message: Message, *, inbox_id: int = 0, force: bool = False
    ) -> None:
        self._get(conversation_id).tell(message, inbox_id=inbox_id, force=force)

    def ask(self, conversation_id: str, message: Message) -> asyncio.Future[Any]:
        return self._get(conversation_id).ask(message)

    def track(self, actor: Actor[Any], busy: bool) -> None:
        """Count another actor (the desk) in quiescence."""
        self._on_busy(actor, busy)

    def _on_busy(self, actor: Actor[Any], busy: bool) -> None:
        if busy:
            self._busy += 1
            self._idle.clear()
            return
        self._busy -= 1
        if actor.stopped and self._actors.get(actor.name) is actor:
            del self._actors[actor.name]
            leftovers, actor.leftovers = actor.leftovers or [], None
            if leftovers and not self._closed:
                fresh = self._get(actor.name)
                for envelope in leftovers:
                    fresh.requeue(envelope)
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
            if not actor.stopped:
                try:
                    actor.tell(Stop(), force=True)
                except ActorStopped:
                    pass
        await self.wait_idle()
        self._actors.clear()
