"""The conversation actor: the imperative shell around `step`.

Per message: step, commit snapshot + journal + messages + outbox (+ the inbox row marked
processed) in one transaction, then re-arm the wake-up, wake the sender, notify dashboards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import msgspec
import structlog

from actors.conversation.assignment import Outcome, refused
from actors.conversation.effects import Notify, Reply
from actors.conversation.messages import AgentMessage, CustomerMessage, Message, Ping, StartSession
from actors.conversation.policy import Policy
from actors.conversation.snapshot_loader import SnapshotLoader
from actors.conversation.state import ConversationState, decode_state, new_conversation
from actors.conversation.step import next_wakeup, step
from actors.conversation.step_commit import build_commit
from actors.runtime.actor import Actor
from actors.runtime.clock import Clock
from actors.runtime.events import EventBus
from storage import conversations as conversation_store
from storage import inbox as inbox_store
from storage.outbox import DueSend
from storage.writer import Writer

log = structlog.get_logger("conversation")


def _nothing(message: Message) -> Any:
    """The answer for a conversation that does not exist (nothing is created)."""
    if isinstance(message, Ping):
        return None
    if hasattr(message, "session_id"):
        return refused("not_found", f"no session {message.session_id}")
    return None


@dataclass(slots=True)
class ActorContext:
    """What every conversation actor shares."""

    clock: Clock
    writer: Writer
    loader: SnapshotLoader
    policy_for: Callable[[str], Policy]
    schedule: Callable[[str, datetime | None], None]
    outbox_submit: Callable[[list[DueSend]], None]
    events: EventBus


class ConversationActor(Actor[Message]):
    __slots__ = ("ctx", "state")

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

    async def setup(self) -> None:
        blob = await self.ctx.loader.load(self.name)
        self.state = None if blob is None else decode_state(blob)

    async def handle(self, message: Message, inbox_id: int) -> Any:
        ctx = self.ctx
        now = ctx.clock.now()
        old = self.state
        state = old
        if state is None:
            who = (
                message.who
                if isinstance(message, CustomerMessage | AgentMessage | StartSession)
                else None
            )
            if who is None:
                return _nothing(message)
            state = new_conversation(
                self.name, who.business_id, who.customer_id, now, who.phone, who.name
            )
        policy = ctx.policy_for(state.business_id)
        new, effects = step(state, message, now, policy)
        reply = None
        for effect in effects:
            if isinstance(effect, Reply):
                reply = effect.value
        if new is old and inbox_id == 0 and all(isinstance(e, Reply) for e in effects):
            return reply
        wakeup = next_wakeup(new, policy)
        commit = build_commit(old, new, effects, now, wakeup, inbox_id)
        done = await ctx.writer.submit(partial(conversation_store.commit_step, commit=commit))
        self.state = new
        ctx.schedule(self.name, wakeup)
        if done.sends:
            ctx.outbox_submit(done.sends)
        for effect in effects:
            if isinstance(effect, Notify):
                ctx.events.publish(effect.type, effect.data)
        log.debug(
            "step", conversation_id=self.name, message=type(message).__name__, effects=len(effects)
        )
        if isinstance(reply, Outcome) and reply.message_index is not None:
            reply = msgspec.structs.replace(reply, message_id=done.message_ids[reply.message_index])
        return reply

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
            try:
                await self.ctx.writer.submit(
                    partial(inbox_store.mark_failed, inbox_id=inbox_id, error=repr(error)[:500])
                )
            except Exception:
                log.exception("inbox_mark_failed", conversation_id=self.name)
