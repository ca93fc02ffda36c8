"""The assignment desk: one actor that indexes the human side (the queue oldest first, who
holds which chat, who handled each last) and hands chats out.

It proposes, the conversation disposes: to assign, the desk asks the chat's conversation
actor to accept `Assign(operator)`; the conversation checks its own state and answers; on a
refusal the desk tries the next candidate. Requests are handled one at a time, so two
operators can never be given one chat, and no operator goes beyond its capacity. The index
follows the conversations' session events (after each commit) and is rebuilt from
`agent_sessions` at start-up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import msgspec

from actors.conversation.assignment import Outcome, refused
from actors.conversation.messages import Assign, Message
from actors.runtime.actor import Actor
from storage import sessions as session_store
from storage.reader import Reader

AskConversation = Callable[[str, Message], asyncio.Future[Any]]


class Next(msgspec.Struct, frozen=True):
    """The operator asks for the next chat."""

    operator_id: str


class AssignTo(msgspec.Struct, frozen=True):
    """Give this session to this operator (an agent accepting, or a supervisor assigning)."""

    session_id: str
    operator_id: str


class SessionEvent(msgspec.Struct, frozen=True):
    """A session changed (its API shape, as published after the commit)."""

    data: dict[str, Any]


DeskMessage = Next | AssignTo | SessionEvent


class _Entry(msgspec.Struct):
    arrival: int  # ties of `since` go by the order the desk learnt of the sessions
    rev: int
    conversation_id: str
    chat_state: str
    since: str
    agent_id: str | None
    last_operator_id: str | None


class Desk(Actor[DeskMessage]):
    __slots__ = ("_arrivals", "_ask", "_capacity", "_ended", "_reader", "sessions")

    def __init__(
        self,
        *,
        reader: Reader,
        ask: AskConversation,
        capacity: int,
        on_busy: Callable[[Actor[Any], bool], None],
    ) -> None:
        super().__init__("desk", 100_000, on_busy)
        self._reader = reader
        self._ask = ask
        self._capacity = capacity
        self.sessions: dict[str, _Entry] = {}  # every open session
        self._arrivals = 0
        self._ended: dict[str, None] = {}  # recent ends, so late news cannot revive them

    # Read-only views for the HTTP edge (the dashboard feed, monitoring).
    def holder_of(self, session_id: str) -> str | None:
        entry = self.sessions.get(session_id)
        return None if entry is None else entry.agent_id

    def held_by(self, operator_id: str) -> list[str]:
        return [sid for sid, e in self.sessions.items() if e.agent_id == operator_id]

    def waiting_ids(self) -> set[str]:
        return {sid for sid, e in self.sessions.items() if e.chat_state == "waiting_assignment"}

    def waiting(self) -> list[str]:
        entries = [
            (e.since, e.arrival, sid)
            for sid, e in self.sessions.items()
            if e.chat_state == "waiting_assignment"
        ]
        return [sid for _, _, sid in sorted(entries)]

    async def setup(self) -> None:
        for row in await session_store.open_sessions(self._reader):
            self._apply(row)

    async def handle(self, message: DeskMessage, inbox_id: int) -> Any:
        match message:
            case SessionEvent():
                self._apply(message.data)
                return None
            case Next():
                return await self._next(message.operator_id)
            case AssignTo():
                return await self._assign_to(message.session_id, message.operator_id)
        return None

    async def _next(self, operator_id: str) -> Outcome | None:
        """The oldest waiting chat, skipping those this operator handled last while any
        other waits; None when nothing waits."""
        if len(self.held_by(operator_id)) >= self._capacity:
            return refused("already_assigned", "you hold as many chats as you may")
        queue = self.waiting()
        others = [s for s in queue if self.sessions[s].last_operator_id != operator_id]
        mine = [s for s in queue if self.sessions[s].last_operator_id == operator_id]
        for session_id in others + mine:
            outcome = await self._try(session_id, operator_id)
            if outcome.ok:
                return outcome
        return None

    async def _assign_to(self, session_id: str, operator_id: str) -> Outcome:
        entry = self.sessions.get(session_id)
        if entry is not None and entry.agent_id == operator_id:
            return await self._try(session_id, operator_id)
        if len(self.held_by(operator_id)) >= self._capacity:
            return refused("already_assigned", f"{operator_id} holds as many chats as it may")
        if entry is None:
            row = await session_store.get(self._reader, session_id)
            if row is None:
                return refused("not_found", f"no session {session_id}")
            self._apply(row)
            if row["status"] == "ended":
                return refused("session_ended", "the session has ended", None, None)
        return await self._try(session_id, operator_id)

    async def _try(self, session_id: str, operator_id: str) -> Outcome:
        entry = self.sessions.get(session_id)
        if entry is None:
            return refused("not_found", f"no session {session_id}")
        try:
            outcome: Outcome = await self._ask(
                entry.conversation_id, Assign(session_id, operator_id)
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # that conversation failed; the desk must stay up
            return refused("unavailable", f"the conversation could not answer: {exc!r}")
        if outcome.session is not None:
            self._apply(outcome.session)
        elif outcome.code in ("not_found", "session_ended"):
            self.sessions.pop(session_id, None)
        return outcome

    def _apply(self, data: dict[str, Any]) -> None:
        """Take news of a session, unless it is older than what the desk knows."""
        session_id = data["id"]
        rev = int(data.get("rev", 0))
        known = self.sessions.get(session_id)
        if known is not None and known.rev > rev:
            return
        if data["status"] == "ended":
            self.sessions.pop(session_id, None)
            self._ended[session_id] = None
            if len(self._ended) > 50_000:
                del self._ended[next(iter(self._ended))]
            return
        if session_id in self._ended:
            return
        self._arrivals += 1
        self.sessions[session_id] = _Entry(
            arrival=known.arrival if known is not None else self._arrivals,
            rev=rev,
            conversation_id=data["conversation_id"],
            chat_state=data["chat_state"],
            since=data["state_since"],
            agent_id=data["agent_id"],
            last_operator_id=data["last_operator_id"],
        )
