"""actors.conversation.step_commit: one step turned into the rows of one commit, the sends
for the sender, the events to publish and the ask's answer, with the ids of new rows
decided right there."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

from actors.conversation.effects import AssignmentLog, Journal, Notify, Record, Reply, Send
from actors.conversation.events import ConversationPaused, QueueChange
from actors.conversation.messages import AgentReply, Caller, CustomerMessage, Identity, Wake
from actors.conversation.outcome import Outcome
from actors.conversation.policy import Policy
from actors.conversation.state import ConversationState, Pause, Session, decode_state
from actors.conversation.step import deadlines, step
from actors.conversation.step_commit import build
from actors.conversation.views import session_view
from actors.flows.loader import load_flows
from actors.outbox.outbound import decode_outbound
from storage.views import Deadline

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
POLICY = Policy(flows=load_flows(Path(__file__).resolve().parent.parent / "flows", "main"))
replace = msgspec.structs.replace


class Ids:
    def __init__(self, message: int = 100, outbox: int = 7) -> None:
        self._messages = itertools.count(message)
        self._outbox = itertools.count(outbox)

    def next_message_id(self) -> int:
        return next(self._messages)

    def next_outbox_id(self) -> int:
        return next(self._outbox)


def state(**changes: object) -> ConversationState:
    base = ConversationState(
        id="c1",
        business_id="b1",
        customer_id="447700900123",
        created_at=T0,
        phone="447700900123",
        customer_name="Dana",
        last_inbound_at=T0,
    )
    return replace(base, **changes)


def held(agent: str = "op-ana") -> ConversationState:
    return state(
        session=Session(
            id="c1.s1",
            started_at=T0,
            expires_at=T0 + timedelta(hours=22),
            state_since=T0,
            status="active",
            chat_state="assigned",
            agent_id=agent,
            last_operator_id=agent,
            accepted_at=T0,
            operator_active_at=T0,
        ),
        sessions_started=1,
    )


def test_new_rows_get_their_ids_when_the_commit_is_built() -> None:
    """Each message gets the next message id; each send the next outbox id and the id of
    the message it delivers; the sender gets the same rows."""
    new = state()
    effects = [
        Record("in", "customer", "text", "hi", "wamid.1"),
        Send("How can we help you today?"),
        Send("second"),
    ]
    built = build(None, new, effects, T0, [], 0, Ids())
    assert [m.view.id for m in built.commit.messages] == ["100", "101", "102"]
    assert [(o.id, o.message_id) for o in built.commit.outbox] == [(7, 101), (8, 102)]
    assert [(s.id, s.message_id, s.recipient) for s in built.sends] == [
        (7, 101, "447700900123"),
        (8, 102, "447700900123"),
    ]
    body = decode_outbound(built.sends[0].body)
    assert (body.outbox_id, body.to, body.text) == (7, "447700900123", "How can we help you today?")
    assert not built.commit.exists


def test_each_message_is_an_event_with_the_session_it_belongs_to() -> None:
    """A message of a session is published with that session's view after the step; one
    outside a session with none (only supervisors see it)."""
    new = held()
    effects = [
        Record("in", "customer", "text", "hello", session_id="c1.s1"),
        Send("bot text"),
    ]
    built = build(new, new, effects, T0, [], 0, Ids())
    first, second = built.events
    assert first.type == "message.created" and first.data == built.commit.messages[0].view
    assert first.session == session_view(new, new.session)  # type: ignore[arg-type]
    assert second.session is None


def test_notifications_become_events() -> None:
    """A session event carries the session; a queue change the session it names; a pause
    none."""
    new = held()
    view = session_view(new, new.session)  # type: ignore[arg-type]
    effects = [
        Notify("session.updated", view),
        Notify("queue.changed", QueueChange("c1.s1", "removed")),
        Notify("conversation.paused", ConversationPaused("c1", T0)),
    ]
    built = build(new, new, effects, T0, [], 0, Ids())
    assert [(e.type, e.session) for e in built.events] == [
        ("session.updated", view),
        ("queue.changed", view),
        ("conversation.paused", None),
    ]


def test_the_answer_carries_the_message_the_command_sent() -> None:
    """An operator's reply is answered with the view of the message it sent, id included."""
    before = held()
    new, effects = step(before, AgentReply("c1.s1", Caller("op-ana"), "Hi"), T0, POLICY)
    built = build(before, new, effects, T0, deadlines(new, POLICY), 0, Ids())
    assert isinstance(built.reply, Outcome) and built.reply.sent is not None
    assert built.reply.sent == built.commit.messages[0].view
    assert (built.reply.sent.id, built.reply.sent.text) == ("100", "Hi")


def test_journal_and_assignment_lines_are_stamped_with_the_step() -> None:
    new = held()
    effects = [
        Journal("agent_session", "forwarded_to_agent", "c1.s1"),
        AssignmentLog("c1.s1", "op-ana", "released", "idle"),
        Reply(None),
    ]
    built = build(new, new, effects, T0, [], 42, Ids())
    [line] = built.commit.journal
    assert (line.conversation_id, line.at, line.step_type, line.detail) == (
        "c1",
        T0,
        "agent_session",
        "c1.s1",
    )
    [log] = built.commit.assignments
    assert (log.conversation_id, log.event, log.reason, log.at) == ("c1", "released", "idle", T0)
    assert built.commit.inbox_id == 42 and built.reply is None


def test_the_pause_projection_follows_the_state() -> None:
    """A new or changed pause is written; a lifted one is cleared; an unchanged one is not
    written again."""
    paused = state(pause=Pause(until=T0 + timedelta(hours=10), paused_at=T0))
    set_ = build(state(), paused, [], T0, [], 0, Ids()).commit
    assert set_.pause is not None and set_.pause.expires_at == T0 + timedelta(hours=10)
    assert not set_.pause_cleared
    same = build(paused, paused, [], T0, [], 0, Ids()).commit
    assert same.pause is None and not same.pause_cleared
    lifted = build(paused, state(), [], T0, [], 0, Ids()).commit
    assert lifted.pause is None and lifted.pause_cleared


def test_the_session_projection_follows_the_state() -> None:
    """The open session is written when it changed; the one that just ended is written
    once; an unchanged one is not."""
    before = held()
    assert build(before, before, [], T0, [], 0, Ids()).commit.session is None
    moved = replace(before, session=replace(before.session, rev=1))
    changed = build(before, moved, [], T0, [], 0, Ids()).commit.session
    assert changed is not None and changed.rev == 1
    ended = replace(before, session=None, last_session=replace(before.session, status="ended"))
    written = build(before, ended, [], T0, [], 0, Ids()).commit.session
    assert written is not None and written.status == "ended"


def test_the_conversation_row_carries_its_projection_and_snapshot() -> None:
    """Deadlines, the next wake-up, variables and the window are columns; the snapshot
    decodes back to the state."""
    new = state(variables={"name": "Dana"})
    timers = [
        Deadline("pause_expiry", T0 + timedelta(hours=2)),
        Deadline("x", T0 + timedelta(hours=1)),
    ]
    row = build(None, new, [], T0, timers, 0, Ids()).commit.conversation
    assert row.next_wakeup_at == T0 + timedelta(hours=1)
    assert row.deadlines == timers
    assert row.variables == {"name": "Dana"}
    assert row.window_expires_at == T0 + timedelta(hours=24)
    assert decode_state(row.snapshot) == new


def test_a_step_of_a_real_message_builds_cleanly() -> None:
    """A customer's first message: its record, the menu sent, both as events."""
    message = CustomerMessage(
        who=Identity("b1", "447700900123", "447700900123", "Dana"),
        provider="cloud",
        provider_message_id="wamid.1",
        sent_at=T0,
        kind="text",
        text="hi",
    )
    before = state()
    new, effects = step(before, message, T0, POLICY)
    built = build(before, new, effects, T0, deadlines(new, POLICY), 1, Ids())
    assert [m.view.sender_type for m in built.commit.messages] == ["customer", "bot"]
    assert [e.type for e in built.events] == ["message.created", "message.created"]
    assert len(built.sends) == 1
    quiet, fx = step(new, Wake(), T0, POLICY)
    assert build(new, quiet, fx, T0, [], 0, Ids()).commit.messages == []
