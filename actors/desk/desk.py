"""The assignment desk: one actor that hands chats out, from its index of the human side.

It proposes, the conversation disposes: to assign, the desk asks the chat's conversation
actor to accept `Assign(operator)`; the conversation checks its own state and answers; on a
refusal the desk tries the next candidate. Requests are handled one at a time, so two
operators can never be given one chat, and no operator goes beyond its capacity. The index
follows the conversations' session events (published after each commit) and is rebuilt
from the store at start-up, and again whenever news of a session had to be dropped because
the desk's mailbox was full.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import msgspec

from actors.conversation.messages import Assign, Caller, Message
from actors.conversation.outcome import Outcome, refused
from actors.desk.index import SessionIndex
from actors.runtime.actor import Actor
from actors.runtime.errors import ActorStopped, MailboxFull
from storage.store import Store
from storage.views import SessionView

AskConversation = Callable[[str, Message], asyncio.Future[Any]]
MAILBOX = 10_000


class Next(msgspec.Struct, frozen=True):
    """The operator asks for the next chat."""

    operator_id: str


class AssignTo(msgspec.Struct, frozen=True):
    """Give this session to this operator: an agent accepting (the caller is the operator),
    or a supervisor assigning."""

    session_id: str
    operator_id: str
    caller: Caller


class SessionNews(msgspec.Struct, frozen=True):
    """A session changed (its view, as published after the commit)."""

    session: SessionView


DeskMessage = Next | AssignTo | SessionNews


class Desk(Actor[DeskMessage]):
    __slots__ = ("_ask", "_capacity", "_stale", "_store", "index")

    def __init__(
        self,
        *,
        store: Store,
        ask: AskConversation,
        capacity: int,
        on_busy: Callable[[Actor[Any], bool], None],
    ) -> None:
        super().__init__("desk", MAILBOX, on_busy)
        self._store = store
        self._ask = ask
        self._capacity = capacity
        self._stale = True
        self.index = SessionIndex()

    def hear(self, session: SessionView) -> None:
        """News of a session, for the index. When the mailbox is full the news is dropped
        and the index is rebuilt from the store before the next request."""
        try:
            self.tell(SessionNews(session))
        except MailboxFull:
            self._stale = True
        except ActorStopped:  # stopping, or failed: a fresh desk reloads the index
            pass

    async def setup(self) -> None:
        await self._reload()

    async def _reload(self) -> None:
        self._stale = False
        self.index.clear()
        for session in await self._store.open_sessions():
            self.index.apply(session)

    async def handle(self, message: DeskMessage, inbox_id: int) -> Any:
        if isinstance(message, SessionNews):
            self.index.apply(message.session)
            return None
        if self._stale:
            await self._reload()
        match message:
            case Next():
                return await self._next(message.operator_id)
            case AssignTo():
                return await self._assign_to(message)

    async def _next(self, operator_id: str) -> Outcome | None:
        """The oldest waiting chat, skipping those this operator handled last while any
        other waits; None when nothing waits."""
        if len(self.index.held_by(operator_id)) >= self._capacity:
            return refused("already_assigned", "you hold as many chats as you may")
        queue = self.index.waiting()
        others = [s for s in queue if s.last_operator_id != operator_id]
        mine = [s for s in queue if s.last_operator_id == operator_id]
        caller = Caller(operator_id)
        for session in others + mine:
            outcome = await self._try(session, operator_id, caller)
            if outcome.ok:
                return outcome
        return None

    async def _assign_to(self, message: AssignTo) -> Outcome:
        session = self.index.get(message.session_id)
        holder = session.agent_id if session is not None else None
        if holder != message.operator_id and (
            len(self.index.held_by(message.operator_id)) >= self._capacity
        ):
            return refused(
                "already_assigned", f"{message.operator_id} holds as many chats as it may"
            )
        if session is None:
            session = await self._store.session(message.session_id)
            if session is None:
                return refused("not_found", f"no session {message.session_id}")
            if session.status == "ended":
                return refused("session_ended", "the session has ended", session)
            self.index.apply(session)
        return await self._try(session, message.operator_id, message.caller)

    async def _try(self, session: SessionView, operator_id: str, caller: Caller) -> Outcome:
        try:
            outcome: Outcome = await self._ask(
                session.conversation_id, Assign(session.id, operator_id, caller)
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # that conversation failed or is full; the desk stays up
            return refused("unavailable", f"the conversation could not answer: {exc!r}")
        if outcome.session is not None:
            self.index.apply(outcome.session)
        elif outcome.code in ("not_found", "session_ended"):
            self.index.forget(session.id)
        return outcome
