"""The conversation actor: the imperative shell around `step`.

Per message: step, build the commit (`step_commit.build`), commit snapshot, projections,
journal, messages and outbox (and the inbox row marked processed) in one transaction, then
re-arm the wake-up, hand the sends to the sender and publish the events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import msgspec
import structlog

from actors.conversation.domain_log import domain_events
from actors.conversation.effects import Reply
from actors.conversation.events import Event
from actors.conversation.keys import new_session_id
from actors.conversation.messages import (
    Adopt,
    AgentMessage,
    AgentReply,
    Assign,
    CustomerMessage,
    EndSession,
    Message,
    Ping,
    Release,
    StartSession,
)
from actors.conversation.outcome import refused
from actors.conversation.policy import Policy
from actors.conversation.snapshot_loader import SnapshotLoader
from actors.conversation.state import ConversationState, decode_state, new_conversation
from actors.conversation.step import deadlines, step
from actors.conversation.step_commit import build
from actors.runtime.actor import Actor
from actors.runtime.clock import Clock
from actors.runtime.durably import durably
from storage.rows import Alias
from storage.store import Store
from storage.views import DueSend

log = structlog.get_logger("conversation")


def _nothing(message: Message) -> Any:
    """The answer for a conversation that does not exist (nothing is created)."""
    if isinstance(message, Ping):
        return None
    if isinstance(message, Assign | Release | EndSession | AgentReply):
        return refused("not_found", f"no session {message.session_id}")
    return None


@dataclass(slots=True)
class ActorContext:
    """What every conversation actor shares."""

    clock: Clock
    store: Store
    loader: SnapshotLoader
    policy_for: Callable[[str], Policy]
    schedule: Callable[[str, datetime | None], None]
    outbox_submit: Callable[[list[DueSend]], None]
    publish: Callable[[Event], object]
    learn: Callable[[list[Alias]], None]
    # Told once per inbox event this actor is done with (committed, failed or dropped):
    # intake counts the events not yet processed against its bound.
    settled: Callable[[], None] = lambda: None


class ConversationActor(Actor[Message]):
    __slots__ = ("ctx", "last_inbox_id", "state")

    def __init__(
        self,
        conversation_id: str,
        capacity: int,
        on_busy: Callable[[Actor[Any], bool], None],
        *,
        ctx: ActorContext,
    ) -> None:
        super().__init__(conversation_id, capacity, on_busy)
        self.ctx = ctx
        self.state: ConversationState | None = None
        # The latest inbox event handled: events reach an actor in inbox order, so one at or
        # below it was delivered twice (read back from the inbox while still queued).
        self.last_inbox_id = 0

    async def setup(self) -> None:
        blob = await self.ctx.loader.load(self.name)
        self.state = None if blob is None else decode_state(blob, self.name)

    async def handle(self, message: Message, inbox_id: int) -> Any:
        if not inbox_id:
            return await self._step(message, inbox_id)
        if inbox_id <= self.last_inbox_id:
            return None
        self.last_inbox_id = inbox_id
        answer = await self._step(message, inbox_id)
        self.ctx.settled()
        return answer

    async def _step(self, message: Message, inbox_id: int) -> Any:
        ctx = self.ctx
        now = ctx.clock.now()
        old = self.state
        state = old
        if state is None:
            who = (
                message.who
                if isinstance(message, CustomerMessage | AgentMessage | StartSession | Adopt)
                else None
            )
            if who is None:
                return _nothing(message)
            state = new_conversation(
                self.name, who.business_id, who.customer_id, now, who.phone, who.name, who.bsuid
            )
        if state.next_session_id is None:
            state = msgspec.structs.replace(state, next_session_id=new_session_id())
        policy = ctx.policy_for(state.business_id)
        new, effects = step(state, message, now, policy)
        if (
            new is state
            and old is not None
            and inbox_id == 0
            and all(isinstance(e, Reply) for e in effects)
        ):
            return next((e.value for e in effects if isinstance(e, Reply)), None)
        timers = deadlines(new, policy)
        built = build(old, new, effects, now, timers, inbox_id, ctx.store)
        # A passing fault of the database is waited out: this event was acknowledged.
        await durably(
            partial(ctx.store.commit_step, built.commit), "step", conversation_id=self.name
        )
        self.state = new
        ctx.schedule(self.name, built.commit.conversation.next_wakeup_at)
        if built.commit.aliases:
            ctx.learn(built.commit.aliases)
        if built.sends:
            ctx.outbox_submit(built.sends)
        for event in built.events:
            ctx.publish(event)
        domain_events(self.name, effects)
        log.debug(
            "step", conversation_id=self.name, message=type(message).__name__, effects=len(effects)
        )
        return built.reply

    async def on_failure(self, message: Message, inbox_id: int, error: BaseException) -> None:
        """The step or its commit failed: the state stays as last committed; the inbox row
        keeps the error and is retried at the next start (a few times, not forever)."""
        log.error(
            "step_failed",
            conversation_id=self.name,
            message=type(message).__name__,
            error=repr(error),
        )
        if inbox_id:
            self.ctx.settled()
            try:
                await self.ctx.store.mark_inbox_failed(inbox_id, repr(error)[:500])
            except Exception:
                log.exception("inbox_mark_failed", conversation_id=self.name)

    def on_dropped(self, inbox_id: int) -> None:
        """Mail refused when the actor could not start: the event stays in the inbox (and
        is replayed at the next start) but is not pending in this run."""
        if inbox_id:
            self.ctx.settled()
