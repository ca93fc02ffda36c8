"""actors.desk: the index of open sessions (newest news wins, ended ones never come back, the
queue oldest first) and the desk actor that proposes chats for the conversations to accept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from actors.conversation.messages import Assign, Caller, Message
from actors.conversation.outcome import Outcome, refused
from actors.desk.desk import Desk, Next
from actors.desk.index import SessionIndex
from storage.views import SessionView

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def view(
    sid: str,
    *,
    chat_state: str = "waiting_assignment",
    agent: str | None = None,
    last: str | None = None,
    since: datetime = T0,
    rev: int = 0,
) -> SessionView:
    status = {"waiting_assignment": "waiting", "completed": "ended"}.get(chat_state, "active")
    return SessionView(
        id=sid,
        conversation_id=f"conv-{sid}",
        phone_number="447700900123",
        customer_name="Dana",
        status=status,  # type: ignore[arg-type]
        chat_state=chat_state,  # type: ignore[arg-type]
        agent_id=agent,
        last_operator_id=last or agent,
        started_by="customer",
        started_at=T0,
        accepted_at=None,
        operator_replied_at=None,
        expires_at=T0 + timedelta(hours=22),
        ended_at=None,
        end_reason=None,
        state_since=since,
        rev=rev,
    )


# --- the index ---------------------------------------------------------------------------


def test_the_queue_is_oldest_first_with_ties_by_arrival() -> None:
    """Waiting sessions by state_since; equal times by the order the index learnt of them."""
    index = SessionIndex()
    index.apply(view("b", since=T0))
    index.apply(view("a", since=T0))
    index.apply(view("old", since=T0 - timedelta(minutes=1)))
    index.apply(view("held", chat_state="assigned", agent="ana"))
    assert [s.id for s in index.waiting()] == ["old", "b", "a"]
    assert index.held_by("ana") == ["held"]


def test_older_news_is_ignored() -> None:
    """A view with a lower rev than the one known changes nothing."""
    index = SessionIndex()
    index.apply(view("s", chat_state="assigned", agent="ana", rev=2))
    index.apply(view("s", rev=1))
    current = index.get("s")
    assert current is not None and current.agent_id == "ana"
    index.apply(view("s", rev=3))
    current = index.get("s")
    assert current is not None and current.chat_state == "waiting_assignment"


def test_an_ended_session_never_comes_back() -> None:
    """Once ended, late news of the open session does not revive it."""
    index = SessionIndex()
    index.apply(view("s", rev=1))
    index.apply(view("s", chat_state="completed", rev=2))
    assert "s" not in index
    index.apply(view("s", rev=1))
    assert "s" not in index and len(index) == 0


# --- the desk actor ----------------------------------------------------------------------


class FakeStore:
    """The two reads the desk makes."""

    def __init__(self, sessions: list[SessionView]) -> None:
        self.sessions = sessions
        self.loads = 0

    async def open_sessions(self) -> list[SessionView]:
        self.loads += 1
        return list(self.sessions)

    async def session(self, session_id: str) -> SessionView | None:
        return next((s for s in self.sessions if s.id == session_id), None)


class Conversations:
    """Answers Assign like a conversation would: yes, unless told to refuse that session."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.refuse: set[str] = set()
        self.asked: list[tuple[str, str]] = []

    def ask(self, conversation_id: str, message: Message) -> asyncio.Future[Any]:
        assert isinstance(message, Assign)
        self.asked.append((message.session_id, message.operator_id))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if message.session_id in self.refuse:
            future.set_result(refused("held_by_other", "taken"))
        else:
            known = {s.id: s for s in self.store.sessions}[message.session_id]
            taken = msgspec.structs.replace(
                known,
                chat_state="assigned",
                status="active",
                agent_id=message.operator_id,
                last_operator_id=message.operator_id,
                rev=known.rev + 1,
            )
            future.set_result(Outcome(True, session=taken))
        return future


def desk_for(
    sessions: list[SessionView], capacity: int = 1
) -> tuple[Desk, Conversations, FakeStore]:
    store = FakeStore(sessions)
    conversations = Conversations(store)
    desk = Desk(
        store=store,  # type: ignore[arg-type]
        ask=conversations.ask,
        capacity=capacity,
        on_busy=lambda _a, _b: None,
    )
    return desk, conversations, store


async def test_next_gives_the_oldest_chat_and_skips_the_one_just_handled() -> None:
    """`next` proposes the oldest waiting chat, except one the operator handled last while
    another waits."""
    desk, conversations, _ = desk_for(
        [view("mine", last="ana", since=T0), view("other", since=T0 + timedelta(seconds=1))]
    )
    outcome = await desk.ask(Next("ana"))
    assert outcome.ok and outcome.session.id == "other"
    assert conversations.asked == [("other", "ana")]


async def test_a_refusal_moves_on_to_the_next_candidate() -> None:
    """When a conversation refuses (it changed meanwhile), the desk tries the next chat."""
    desk, conversations, _ = desk_for([view("a", since=T0), view("b", since=T0)])
    conversations.refuse.add("a")
    outcome = await desk.ask(Next("ana"))
    assert outcome.ok and outcome.session.id == "b"
    assert conversations.asked == [("a", "ana"), ("b", "ana")]


async def test_an_operator_at_capacity_gets_nothing_more() -> None:
    """With one chat held and a capacity of one, `next` says already_assigned."""
    desk, conversations, _ = desk_for(
        [view("held", chat_state="assigned", agent="ana"), view("waiting")]
    )
    outcome = await desk.ask(Next("ana"))
    assert (outcome.ok, outcome.code) == (False, "already_assigned")
    assert conversations.asked == []


async def test_nothing_waiting_answers_none() -> None:
    desk, _, _ = desk_for([])
    assert await desk.ask(Next("ana")) is None


async def test_news_that_does_not_fit_makes_the_desk_reload() -> None:
    """News dropped because the desk's mailbox was full makes it rebuild its index from the
    store before its next request."""
    desk, _, store = desk_for([view("a")])
    assert await desk.ask(Next("ana")) is not None
    loads = store.loads
    desk.capacity = 0  # a full mailbox: the next news cannot be queued
    desk.hear(view("b"))
    desk.capacity = 10
    store.sessions.append(view("b"))
    await desk.ask(Next("ben"))
    assert store.loads == loads + 1
    assert "b" in desk.index


async def test_assign_to_reads_a_session_the_index_does_not_have() -> None:
    """A session the index lost track of is read from the store; an ended one is refused."""
    from actors.desk.desk import AssignTo

    desk, _, store = desk_for([])
    await desk.ask(Next("ana"))
    store.sessions.append(view("late"))
    store.sessions.append(view("gone", chat_state="completed"))
    outcome = await desk.ask(AssignTo("late", "ana", Caller("ana")))
    assert outcome.ok and outcome.session.agent_id == "ana"
    ended = await desk.ask(AssignTo("gone", "ben", Caller("ben")))
    assert (ended.ok, ended.code) == (False, "session_ended")
    missing = await desk.ask(AssignTo("nope", "ben", Caller("ben")))
    assert (missing.ok, missing.code) == (False, "not_found")
