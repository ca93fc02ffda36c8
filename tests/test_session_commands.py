"""Every session command against every kind of caller, checked by `step` where the state
lives: the operator holding the chat, another agent, a supervisor, an admin, and nobody (a
command naming no operator), on a chat that one operator holds and on one nobody holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from actors.conversation.effects import Reply, Send
from actors.conversation.messages import (
    AgentReply,
    Assign,
    Caller,
    EndSession,
    Message,
    Release,
    StartSession,
)
from actors.conversation.outcome import Outcome
from actors.conversation.policy import Policy
from actors.conversation.state import ConversationState, Session
from actors.conversation.step import step
from actors.flows.loader import load_flows

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(minutes=1)
SID = "c1.s1"
ANA, BEN, CAROL, SUP = "op-ana", "op-ben", "op-carol", "op-sup"
POLICY = Policy(flows=load_flows(Path(__file__).resolve().parent.parent / "flows", "main"))
CALLERS = {
    "holder": Caller(ANA),
    "other agent": Caller(BEN),
    "supervisor": Caller(SUP, may_override=True),
    "admin": Caller("admin", may_override=True),
    "nobody": Caller(""),
}


def conversation(holder: str | None) -> ConversationState:
    """A chat assigned to `holder`, or waiting for an operator (holder None)."""
    session = Session(
        id=SID,
        started_at=T0,
        expires_at=T0 + timedelta(hours=22),
        state_since=T0,
        status="active" if holder else "waiting",
        chat_state="assigned" if holder else "waiting_assignment",
        agent_id=holder,
        last_operator_id=holder,
        accepted_at=T0 if holder else None,
        operator_active_at=T0 if holder else None,
    )
    return ConversationState(
        id="c1",
        business_id="b1",
        customer_id="447700900123",
        created_at=T0,
        phone="447700900123",
        session=session,
        sessions_started=1,
        last_inbound_at=T0,
    )


def command(name: str, caller: Caller) -> Message:
    return {
        "start": StartSession(),
        "assign to self": Assign(SID, caller.id, caller),
        "assign to another": Assign(SID, CAROL, caller),
        "release": Release(SID, caller),
        "end": EndSession(SID, caller),
        "reply": AgentReply(SID, caller, "Hi"),
    }[name]


# (command, caller) -> what happens, on a chat Ana holds and on one nobody holds.
# "ok:<chat_state>[:<agent>][:<end reason>]" or the refusal's code.
HELD = {
    ("start", "*"): "session_open",
    ("assign to self", "holder"): "ok:assigned:op-ana",
    ("assign to self", "other agent"): "held_by_other",
    ("assign to self", "supervisor"): "held_by_other",
    ("assign to self", "admin"): "held_by_other",
    ("assign to another", "holder"): "forbidden",
    ("assign to another", "other agent"): "forbidden",
    ("assign to another", "supervisor"): "held_by_other",
    ("assign to another", "admin"): "held_by_other",
    ("release", "holder"): "ok:waiting_assignment",
    ("release", "other agent"): "not_held",
    ("release", "supervisor"): "ok:waiting_assignment",
    ("release", "admin"): "ok:waiting_assignment",
    ("end", "holder"): "ok:completed::agent",
    ("end", "other agent"): "not_held",
    ("end", "supervisor"): "ok:completed::supervisor",
    ("end", "admin"): "ok:completed::supervisor",
    ("reply", "holder"): "ok:waiting_real_user_reply:op-ana",
    ("reply", "other agent"): "not_held",
    ("reply", "supervisor"): "ok:waiting_real_user_reply:op-ana",
    ("reply", "admin"): "ok:waiting_real_user_reply:op-ana",
}
UNHELD = {
    ("start", "*"): "session_open",
    ("assign to self", "other agent"): "ok:assigned:op-ben",
    ("assign to self", "supervisor"): "ok:assigned:op-sup",
    ("assign to self", "admin"): "ok:assigned:admin",
    ("assign to another", "other agent"): "forbidden",
    ("assign to another", "supervisor"): "ok:assigned:op-carol",
    ("assign to another", "admin"): "ok:assigned:op-carol",
    ("release", "other agent"): "not_held",
    ("release", "supervisor"): "ok:waiting_assignment",
    ("release", "admin"): "ok:waiting_assignment",
    ("end", "other agent"): "not_held",
    ("end", "supervisor"): "ok:completed::supervisor",
    ("end", "admin"): "ok:completed::supervisor",
    ("reply", "other agent"): "not_held",
    ("reply", "supervisor"): "ok:waiting_real_user_reply",
    ("reply", "admin"): "ok:waiting_real_user_reply",
}
COMMANDS = ("start", "assign to self", "assign to another", "release", "end", "reply")


def rows() -> list[object]:
    found = []
    for held, table in (("held by Ana", HELD), ("held by nobody", UNHELD)):
        for name in COMMANDS:
            for kind in CALLERS:
                if kind == "holder" and table is UNHELD:
                    continue  # nobody holds it
                expected = table.get((name, "*")) or table.get((name, kind))
                if kind == "nobody" and name != "start":
                    expected = "forbidden"
                assert expected is not None, (held, name, kind)
                found.append(pytest.param(held, name, kind, expected, id=f"{held}-{name}-{kind}"))
    return found


@pytest.mark.parametrize(("held", "name", "kind", "expected"), rows())
def test_command_by_caller(held: str, name: str, kind: str, expected: str) -> None:
    """The command is done or refused as the table says; a refusal changes nothing and
    sends nothing."""
    before = conversation(ANA if held == "held by Ana" else None)
    state, effects = step(before, command(name, CALLERS[kind]), NOW, POLICY)
    [outcome] = [e.value for e in effects if isinstance(e, Reply)]
    assert isinstance(outcome, Outcome)
    if not expected.startswith("ok"):
        assert (outcome.ok, outcome.code) == (False, expected)
        assert state == before, "a refused command changes nothing"
        assert not [e for e in effects if isinstance(e, Send)], "and sends nothing"
        return
    _, chat_state, *rest = expected.split(":")
    agent = rest[0] if rest and rest[0] else None
    reason = rest[1] if len(rest) > 1 else None
    assert outcome.ok and outcome.session is not None, outcome
    assert outcome.session.chat_state == chat_state
    assert outcome.session.agent_id == agent
    if reason is not None:
        assert outcome.session.end_reason == reason
    if chat_state != "completed":
        assert state.session is not None and state.session.chat_state == chat_state


def test_a_release_for_one_operator_leaves_another_operators_chat_alone() -> None:
    """The bug of old: a release sent for operator A while operator B holds the chat no
    longer puts the chat back in the queue."""
    before = conversation(BEN)
    state, effects = step(before, Release(SID, Caller(ANA)), NOW, POLICY)
    [outcome] = [e.value for e in effects if isinstance(e, Reply)]
    assert (outcome.ok, outcome.code) == (False, "not_held")
    assert state.session is not None and state.session.agent_id == BEN
    assert msgspec.structs.asdict(state) == msgspec.structs.asdict(before)
