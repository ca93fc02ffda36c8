"""Seed 004's chat assignment machine as a table of pure transitions:
`step(state, message, now, policy) -> (state, effects)` under `sticky` and `pool`, with the
invariants checked after every transition (no event loop, no storage)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from actors.conversation.effects import AssignmentLog, Effect, Notify, Reply, Send
from actors.conversation.messages import (
    AgentReply,
    Assign,
    Caller,
    CustomerMessage,
    EndSession,
    Identity,
    Message,
    Release,
    Wake,
)
from actors.conversation.outcome import Outcome
from actors.conversation.policy import AssignmentSettings, Policy
from actors.conversation.state import ConversationState, Session
from actors.conversation.step import next_wakeup, step
from actors.flows.loader import load_flows

replace = msgspec.structs.replace

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(minutes=1)
EXPIRES = T0 + timedelta(hours=22)
IDLE = timedelta(minutes=5)
SID = "c1.s1"
ANA, BEN, SUP = "op-ana", "op-ben", "op-sup"
SUPERVISOR = Caller(SUP, may_override=True)
WHO = Identity(business_id="b1", customer_id="966509491382", phone="966509491382", name="Omar")
POLICY = Policy(flows=load_flows(Path(__file__).resolve().parent.parent / "flows", "main"))
POLICIES = {
    "sticky": replace(POLICY, assignment=AssignmentSettings(policy="sticky")),
    "pool": replace(POLICY, assignment=AssignmentSettings(policy="pool")),
}
STATUS = {
    "waiting_assignment": "waiting",
    "assigned": "active",
    "waiting_real_user_reply": "active",
    "completed": "ended",
}
NO_OUTCOME = "-"  # no Outcome is answered (a customer message; a Wake answers None)


# --- states: one session in each chat_state ---------------------------------------------


def conversation(session: Session | None, inbound: datetime = T0) -> ConversationState:
    """A conversation whose customer wrote at `inbound` (the 24-hour window runs from it)."""
    return ConversationState(
        id="c1",
        business_id="b1",
        customer_id="966509491382",
        created_at=T0,
        phone="966509491382",
        session=session,
        sessions_started=1,
        last_inbound_at=inbound,
        last_activity_at=inbound,
    )


def waiting(last: str | None = None) -> ConversationState:
    """waiting_assignment (a fresh chat, or one `last` handled before)."""
    return conversation(
        Session(
            id=SID,
            started_at=T0,
            expires_at=EXPIRES,
            state_since=T0,
            last_operator_id=last,
            accepted_at=T0 if last else None,
        )
    )


def assigned(agent: str = ANA, at: datetime = T0, inbound: datetime = T0) -> ConversationState:
    """assigned to `agent` since `at` (its idle clock starts there)."""
    return conversation(
        Session(
            id=SID,
            started_at=T0,
            expires_at=EXPIRES,
            status="active",
            chat_state="assigned",
            agent_id=agent,
            last_operator_id=agent,
            accepted_at=at,
            operator_active_at=at,
            state_since=at,
        ),
        inbound,
    )


def replied(agent: str | None, last: str = ANA, at: datetime = T0) -> ConversationState:
    """waiting_real_user_reply: `last` replied at `at`; `agent` still holds it (sticky) or
    nobody does (pool)."""
    return conversation(
        Session(
            id=SID,
            started_at=T0,
            expires_at=EXPIRES,
            status="active",
            chat_state="waiting_real_user_reply",
            agent_id=agent,
            last_operator_id=last,
            accepted_at=T0,
            operator_replied_at=at,
            operator_active_at=at,
            state_since=at,
        )
    )


def ended() -> ConversationState:
    """completed: the session is over (kept as last_session)."""
    session = Session(
        id=SID,
        started_at=T0,
        expires_at=EXPIRES,
        status="ended",
        chat_state="completed",
        last_operator_id=ANA,
        accepted_at=T0,
        ended_at=T0,
        end_reason="agent",
        state_since=T0,
    )
    return replace(conversation(None), last_session=session)


def customer(text: str | None = "hello?", at: datetime = NOW) -> CustomerMessage:
    return CustomerMessage(
        who=WHO, provider="cloud", provider_message_id="wamid.9", sent_at=at, kind="text", text=text
    )


# --- helpers -----------------------------------------------------------------------------


def logs(effects: list[Effect]) -> list[tuple[str, str, str | None]]:
    return [(e.event, e.operator_id, e.reason) for e in effects if isinstance(e, AssignmentLog)]


def notified(effects: list[Effect], event_type: str) -> list[dict[str, Any]]:
    return [
        msgspec.structs.asdict(e.data)
        for e in effects
        if isinstance(e, Notify) and e.type == event_type
    ]


def outcome_of(effects: list[Effect]) -> Outcome | None:
    replies = [e.value for e in effects if isinstance(e, Reply)]
    assert len(replies) <= 1
    value = replies[0] if replies else None
    assert value is None or isinstance(value, Outcome)
    return value


def the_session(state: ConversationState) -> Session:
    """The open session, or the one that just ended."""
    session = state.session or state.last_session
    assert session is not None
    return session


def assert_invariants(state: ConversationState) -> None:
    """Seed 004's constraints, and status following chat_state, on every session kept."""
    for session in (state.session, state.last_session):
        if session is None:
            continue
        assert session.status == STATUS[session.chat_state]
        if session.chat_state == "assigned":
            assert session.agent_id is not None
        if session.chat_state == "waiting_real_user_reply":
            assert session.operator_replied_at is not None
        if session.chat_state == "completed":
            assert session.agent_id is None and session.ended_at is not None
    assert state.session is None or state.session.chat_state != "completed"


# --- the table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    before: ConversationState
    message: Message
    chat_state: str
    agent: str | None
    last: str | None
    replied_at: datetime | None = None
    logs: list[tuple[str, str, str | None]] = field(default_factory=list)
    code: str | None = None  # the refusal; None: done; NO_OUTCOME: not a command
    wakeup: datetime | None = EXPIRES
    now: datetime = NOW
    end_reason: str | None = None


def case(policies: str, name: str, c: Case) -> list[Any]:
    """One row for each policy it applies to ("both", "sticky" or "pool")."""
    names = ("sticky", "pool") if policies == "both" else (policies,)
    return [pytest.param(p, c, id=f"{p}-{name}") for p in names]


AT_EXPIRY = EXPIRES
AT_IDLE = T0 + IDLE

TABLE = [
    # Assign
    *case(
        "both",
        "assign-waiting",
        Case(waiting(), Assign(SID, ANA, Caller(ANA)), "assigned", ANA, ANA, None,
             [("assigned", ANA, None)], wakeup=NOW + IDLE),
    ),
    *case(
        "both",
        "assign-waiting-handled-before-by-another",
        Case(waiting(last=ANA), Assign(SID, BEN, Caller(BEN)), "assigned", BEN, BEN, None,
             [("assigned", BEN, None)], wakeup=NOW + IDLE),
    ),
    *case(
        "both",
        "assign-held-by-other",
        Case(assigned(ANA), Assign(SID, BEN, Caller(BEN)), "assigned", ANA, ANA,
             code="held_by_other", wakeup=T0 + IDLE),
    ),
    *case(
        "both",
        "assign-again-to-holder-is-a-no-op",
        Case(assigned(ANA), Assign(SID, ANA, Caller(ANA)), "assigned", ANA, ANA, wakeup=T0 + IDLE),
    ),
    *case(
        "sticky",
        "assign-replied-held-by-other",
        Case(replied(ANA), Assign(SID, BEN, Caller(BEN)), "waiting_real_user_reply", ANA, ANA, T0,
             code="held_by_other"),
    ),
    *case(
        "sticky",
        "assign-replied-to-holder-is-a-no-op",
        Case(replied(ANA), Assign(SID, ANA, Caller(ANA)), "waiting_real_user_reply", ANA, ANA, T0),
    ),
    *case(
        "both",
        "assign-ended",
        Case(ended(), Assign(SID, ANA, Caller(ANA)), "completed", None, ANA, code="session_ended",
             wakeup=None, end_reason="agent"),
    ),
    *case(
        "both",
        "assign-unknown",
        Case(waiting(), Assign("c1.s9", ANA, Caller(ANA)), "waiting_assignment", None, None,
             code="not_found"),
    ),
    # Release (manual unassign)
    *case(
        "both",
        "release-assigned",
        Case(assigned(ANA), Release(SID, SUPERVISOR), "waiting_assignment", None, ANA,
             logs=[("released", ANA, "manual")]),
    ),
    *case(
        "both",
        "release-with-reason",
        Case(assigned(ANA), Release(SID, SUPERVISOR, "reshuffle"), "waiting_assignment", None, ANA,
             logs=[("released", ANA, "reshuffle")]),
    ),
    *case(
        "both",
        "release-waiting-is-a-no-op",
        Case(waiting(), Release(SID, SUPERVISOR), "waiting_assignment", None, None),
    ),
    *case(
        "sticky",
        "release-replied",
        Case(replied(ANA), Release(SID, SUPERVISOR), "waiting_assignment", None, ANA, T0,
             [("released", ANA, "manual")]),
    ),
    *case(
        "pool",
        "release-replied-nobody-holds",
        Case(replied(None), Release(SID, SUPERVISOR), "waiting_assignment", None, ANA, T0),
    ),
    *case(
        "both",
        "release-ended",
        Case(ended(), Release(SID, SUPERVISOR), "completed", None, ANA, code="session_ended",
             wakeup=None, end_reason="agent"),
    ),
    *case(
        "both",
        "release-unknown",
        Case(assigned(ANA), Release("nope", SUPERVISOR), "assigned", ANA, ANA, code="not_found",
             wakeup=T0 + IDLE),
    ),
    # AgentReply
    *case(
        "sticky",
        "reply-by-holder-keeps-the-chat",
        Case(assigned(ANA), AgentReply(SID, Caller(ANA), "Hi"), "waiting_real_user_reply", ANA, ANA,
             NOW, [("replied", ANA, None)]),
    ),
    *case(
        "pool",
        "reply-by-holder-releases-the-operator",
        Case(assigned(ANA), AgentReply(SID, Caller(ANA), "Hi"), "waiting_real_user_reply",
             None, ANA, NOW, [("replied", ANA, None), ("released", ANA, "replied")]),
    ),
    *case(
        "sticky",
        "reply-again-while-waiting-for-the-customer",
        Case(replied(ANA), AgentReply(SID, Caller(ANA), "Also..."), "waiting_real_user_reply", ANA,
             ANA, NOW, [("replied", ANA, None)]),
    ),
    *case(
        "both",
        "reply-by-non-holder",
        Case(assigned(ANA), AgentReply(SID, Caller(BEN), "Hi"), "assigned", ANA, ANA,
             code="not_held", wakeup=T0 + IDLE),
    ),
    *case(
        "both",
        "reply-to-waiting-chat-without-holding-it",
        Case(waiting(), AgentReply(SID, Caller(ANA), "Hi"), "waiting_assignment", None, None,
             code="not_held"),
    ),
    *case(
        "pool",
        "reply-after-release-in-pool",
        Case(replied(None), AgentReply(SID, Caller(ANA), "Hi"), "waiting_real_user_reply",
             None, ANA, T0, code="not_held"),
    ),
    *case(
        "sticky",
        "supervisor-override-keeps-the-holder",
        Case(assigned(ANA), AgentReply(SID, Caller(SUP, True), "Hi"),
             "waiting_real_user_reply", ANA, SUP, NOW),
    ),
    *case(
        "pool",
        "supervisor-override-releases-the-holder",
        Case(assigned(ANA), AgentReply(SID, Caller(SUP, True), "Hi"),
             "waiting_real_user_reply", None, SUP, NOW, [("released", ANA, f"replied_by_{SUP}")]),
    ),
    *case(
        "both",
        "supervisor-override-on-a-waiting-chat",
        Case(waiting(), AgentReply(SID, Caller(SUP, True), "Hi"),
             "waiting_real_user_reply", None, SUP, NOW),
    ),
    *case(
        "both",
        "reply-window-closed",
        Case(assigned(ANA, NOW - IDLE / 2, inbound=NOW - timedelta(hours=24)),
             AgentReply(SID, Caller(ANA), "Hi"), "assigned", ANA, ANA, code="window_closed",
             wakeup=NOW + IDLE / 2),
    ),
    *case(
        "both",
        "reply-ended",
        Case(ended(), AgentReply(SID, Caller(ANA), "Hi"), "completed", None, ANA,
             code="session_ended", wakeup=None, end_reason="agent"),
    ),
    *case(
        "both",
        "reply-unknown",
        Case(waiting(), AgentReply("nope", Caller(ANA), "Hi"), "waiting_assignment", None, None,
             code="not_found"),
    ),
    # CustomerMessage
    *case(
        "both",
        "customer-writes-while-waiting",
        Case(waiting(), customer(), "waiting_assignment", None, None, code=NO_OUTCOME),
    ),
    *case(
        "sticky",
        "customer-writes-while-assigned-stays",
        Case(assigned(ANA), customer(), "assigned", ANA, ANA, code=NO_OUTCOME,
             wakeup=T0 + IDLE),
    ),
    *case(
        "pool",
        "customer-writes-while-assigned-back-to-queue",
        Case(assigned(ANA), customer(), "waiting_assignment", None, ANA,
             logs=[("released", ANA, "customer_message")], code=NO_OUTCOME),
    ),
    *case(
        "sticky",
        "customer-answers-back-to-its-operator",
        Case(replied(ANA), customer(), "assigned", ANA, ANA, T0, code=NO_OUTCOME,
             wakeup=NOW + IDLE),
    ),
    *case(
        "pool",
        "customer-answers-back-to-queue",
        Case(replied(None), customer(), "waiting_assignment", None, ANA, T0, code=NO_OUTCOME),
    ),
    *case(
        "both",
        "end-chat-while-waiting",
        Case(waiting(), customer("End Chat"), "completed", None, None, code=NO_OUTCOME,
             wakeup=None, end_reason="customer"),
    ),
    *case(
        "both",
        "end-chat-while-assigned",
        Case(assigned(ANA), customer("end chat"), "completed", None, ANA,
             logs=[("released", ANA, "ended")], code=NO_OUTCOME, wakeup=None,
             end_reason="customer"),
    ),
    *case(
        "sticky",
        "end-chat-while-waiting-for-the-customer",
        Case(replied(ANA), customer(" END  chat "), "completed", None, ANA, T0,
             [("released", ANA, "ended")], code=NO_OUTCOME, wakeup=None,
             end_reason="customer"),
    ),
    *case(
        "pool",
        "end-chat-while-waiting-for-the-customer",
        Case(replied(None), customer("énd chât"), "completed", None, ANA, T0,
             code=NO_OUTCOME, wakeup=None, end_reason="customer"),
    ),
    # EndSession
    *case(
        "both",
        "agent-ends-assigned",
        Case(assigned(ANA), EndSession(SID, Caller(ANA)), "completed", None, ANA,
             logs=[("released", ANA, "ended")], wakeup=None, end_reason="agent"),
    ),
    *case(
        "both",
        "supervisor-ends-waiting",
        Case(waiting(), EndSession(SID, SUPERVISOR), "completed", None, None, wakeup=None,
             end_reason="supervisor"),
    ),
    *case(
        "both",
        "end-twice",
        Case(ended(), EndSession(SID, Caller(ANA)), "completed", None, ANA, code="session_ended",
             wakeup=None, end_reason="agent"),
    ),
    *case(
        "both",
        "end-unknown",
        Case(waiting(), EndSession("nope", Caller(ANA)), "waiting_assignment", None, None,
             code="not_found"),
    ),
    # Wake: the idle release and the 22 h expiry
    *case(
        "both",
        "wake-before-idle-deadline",
        Case(assigned(ANA), Wake(), "assigned", ANA, ANA, code=NO_OUTCOME,
             now=AT_IDLE - timedelta(seconds=1), wakeup=AT_IDLE),
    ),
    *case(
        "both",
        "wake-at-idle-deadline",
        Case(assigned(ANA), Wake(), "waiting_assignment", None, ANA,
             logs=[("released", ANA, "idle")], code=NO_OUTCOME, now=AT_IDLE),
    ),
    *case(
        "sticky",
        "wake-never-releases-a-chat-waiting-for-the-customer",
        Case(replied(ANA), Wake(), "waiting_real_user_reply", ANA, ANA, T0,
             code=NO_OUTCOME, now=T0 + timedelta(hours=21)),
    ),
    *case(
        "pool",
        "wake-never-requeues-a-chat-waiting-for-the-customer",
        Case(replied(None), Wake(), "waiting_real_user_reply", None, ANA, T0,
             code=NO_OUTCOME, now=T0 + timedelta(hours=21)),
    ),
    *case(
        "both",
        "wake-just-before-expiry",
        Case(waiting(), Wake(), "waiting_assignment", None, None, code=NO_OUTCOME,
             now=AT_EXPIRY - timedelta(microseconds=1)),
    ),
    *case(
        "both",
        "wake-at-expiry-waiting",
        Case(waiting(), Wake(), "completed", None, None, code=NO_OUTCOME, now=AT_EXPIRY,
             wakeup=None, end_reason="expired"),
    ),
    *case(
        "both",
        "wake-at-expiry-assigned-ends-rather-than-idles",
        Case(assigned(ANA, T0 + timedelta(hours=21, minutes=50)), Wake(), "completed", None,
             ANA, logs=[("released", ANA, "ended")], code=NO_OUTCOME, now=AT_EXPIRY, wakeup=None,
             end_reason="expired"),
    ),
    *case(
        "sticky",
        "wake-at-expiry-waiting-for-the-customer",
        Case(replied(ANA), Wake(), "completed", None, ANA, T0, [("released", ANA, "ended")],
             code=NO_OUTCOME, now=AT_EXPIRY + timedelta(minutes=3), wakeup=None,
             end_reason="expired"),
    ),
    *case(
        "both",
        "reply-after-expiry-finds-it-ended",
        Case(assigned(ANA, T0 + timedelta(hours=21, minutes=50)),
             AgentReply(SID, Caller(ANA), "Hi"), "completed", None, ANA,
             logs=[("released", ANA, "ended")], code="session_ended",
             now=AT_EXPIRY, wakeup=None, end_reason="expired"),
    ),
    *case(
        "both",
        "assign-after-idle-deadline-goes-to-the-new-operator",
        Case(assigned(ANA), Assign(SID, BEN, Caller(BEN)), "assigned", BEN, BEN, None,
             [("released", ANA, "idle"), ("assigned", BEN, None)], now=AT_IDLE,
             wakeup=AT_IDLE + IDLE),
    ),
]  # fmt: skip


@pytest.mark.parametrize(("policy", "c"), TABLE)
def test_transition_table(policy: str, c: Case) -> None:
    """Each (chat_state, message, now) gives the documented state, logs, answer and deadline."""
    assert_invariants(c.before)
    state, effects = step(c.before, c.message, c.now, POLICIES[policy])
    assert_invariants(state)
    session = the_session(state)
    assert (session.chat_state, session.status) == (c.chat_state, STATUS[c.chat_state])
    assert (session.agent_id, session.last_operator_id) == (c.agent, c.last)
    assert session.operator_replied_at == c.replied_at
    assert session.end_reason == c.end_reason
    assert (state.session is None) is (c.chat_state == "completed")
    assert logs(effects) == c.logs
    outcome = outcome_of(effects)
    if c.code == NO_OUTCOME:
        assert outcome is None
    else:
        assert outcome is not None
        assert (outcome.ok, outcome.code) == (c.code is None, c.code)
    if c.code not in (None, NO_OUTCOME) and c.now == NOW:
        assert state == c.before, "a refusal changes nothing"
    assert next_wakeup(state, POLICIES[policy]) == c.wakeup


# --- details of single transitions -------------------------------------------------------


@pytest.mark.parametrize("policy", ["sticky", "pool"])
def test_assign_stamps_the_session(policy: str) -> None:
    """Assign from the queue stamps accepted_at and state_since, and tells the dashboards."""
    state, effects = step(waiting(), Assign(SID, ANA, Caller(ANA)), NOW, POLICIES[policy])
    session = the_session(state)
    assert (session.accepted_at, session.state_since, session.operator_active_at) == (
        NOW,
        NOW,
        NOW,
    )
    assert session.rev == 1
    assert notified(effects, "queue.changed") == [{"session_id": SID, "change": "removed"}]
    [update] = notified(effects, "session.updated")
    assert (update["chat_state"], update["agent_id"], update["status"]) == (
        "assigned",
        ANA,
        "active",
    )
    outcome = outcome_of(effects)
    assert outcome is not None and outcome.session is not None
    assert msgspec.structs.asdict(outcome.session) == update


def test_reassign_keeps_the_first_acceptance_time() -> None:
    """A chat handled before keeps its first accepted_at when another operator takes it."""
    state, _ = step(waiting(last=ANA), Assign(SID, BEN, Caller(BEN)), NOW, POLICIES["pool"])
    assert the_session(state).accepted_at == T0


@pytest.mark.parametrize("policy", ["sticky", "pool"])
def test_reply_sends_to_the_customer(policy: str) -> None:
    """An operator's reply is one Send as that agent, and no queue event when it was held."""
    state, effects = step(assigned(ANA), AgentReply(SID, Caller(ANA), "Hi"), NOW, POLICIES[policy])
    sends = [e for e in effects if isinstance(e, Send)]
    assert [(s.text, s.sender_type, s.sender_id, s.session_id) for s in sends] == [
        ("Hi", "agent", ANA, SID)
    ]
    [reply] = [e for e in effects if isinstance(e, Reply)]
    assert reply.sent is sends[0], "the answer names the message it sent"
    assert notified(effects, "queue.changed") == []
    assert state.unread_count == 0


def test_reply_to_a_waiting_chat_leaves_the_queue() -> None:
    """A supervisor answering a chat nobody took removes it from the queue."""
    _, effects = step(waiting(), AgentReply(SID, Caller(SUP, True), "Hi"), NOW, POLICIES["pool"])
    assert notified(effects, "queue.changed") == [{"session_id": SID, "change": "removed"}]


def test_window_closed_sends_nothing() -> None:
    """Outside the customer's 24-hour window a reply is refused and nothing is sent."""
    before = assigned(ANA, NOW, inbound=NOW - timedelta(hours=24, seconds=1))
    _, effects = step(before, AgentReply(SID, Caller(ANA), "Hi"), NOW, POLICIES["sticky"])
    assert [e for e in effects if isinstance(e, Send)] == []
    outcome = outcome_of(effects)
    assert outcome is not None and outcome.code == "window_closed"
    assert outcome.session is not None and outcome.session.agent_id == ANA


@pytest.mark.parametrize(
    ("policy", "before", "queue"),
    [
        ("pool", assigned(ANA), [{"session_id": SID, "change": "added"}]),
        ("pool", replied(None), [{"session_id": SID, "change": "added"}]),
        ("sticky", replied(ANA), []),
        ("sticky", assigned(ANA), []),
    ],
)
def test_customer_message_and_the_queue(
    policy: str, before: ConversationState, queue: list[dict[str, Any]]
) -> None:
    """The customer's message re-queues the chat in `pool`, never in `sticky`."""
    _, effects = step(before, customer(), NOW, POLICIES[policy])
    assert notified(effects, "queue.changed") == queue
    assert [e for e in effects if isinstance(e, Send)] == [], "the bot stays silent"


@pytest.mark.parametrize("policy", ["sticky", "pool"])
def test_end_chat_tells_the_customer(policy: str) -> None:
    """ "end chat" typed by the customer ends the session and the customer is told."""
    state, effects = step(assigned(ANA), customer("end chat"), NOW, POLICIES[policy])
    assert state.session is None and state.mode == "bot"
    assert [e.text for e in effects if isinstance(e, Send)] == [
        POLICY.sessions.ended_text,
    ]
    ended_session = the_session(state)
    assert (ended_session.ended_at, ended_session.end_reason) == (NOW, "customer")


@pytest.mark.parametrize("policy", ["sticky", "pool"])
def test_expiry_after_22_hours(policy: str) -> None:
    """The Wake at started_at + 22 h ends the session with the expiry notice."""
    state, effects = step(
        replied(ANA if policy == "sticky" else None), Wake(), EXPIRES, POLICIES[policy]
    )
    assert state.session is None
    assert the_session(state).end_reason == "expired"
    assert [e.text for e in effects if isinstance(e, Send)] == [POLICY.sessions.expired_text]
    assert next_wakeup(state, POLICIES[policy]) is None


def test_idle_minutes_come_from_the_policy() -> None:
    """The idle deadline is operator_active_at + assignment.idle_minutes."""
    policy = replace(POLICY, assignment=AssignmentSettings(policy="pool", idle_minutes=2))
    state, _ = step(waiting(), Assign(SID, ANA, Caller(ANA)), NOW, policy)
    assert next_wakeup(state, policy) == NOW + timedelta(minutes=2)
    early, _ = step(state, Wake(), NOW + timedelta(minutes=2) - timedelta(seconds=1), policy)
    assert the_session(early).chat_state == "assigned"
    late, effects = step(state, Wake(), NOW + timedelta(minutes=2), policy)
    assert the_session(late).chat_state == "waiting_assignment"
    assert logs(effects) == [("released", ANA, "idle")]


def test_sticky_customer_message_while_assigned_keeps_the_idle_clock() -> None:
    """In sticky, the customer writing to an assigned chat does not restart the idle clock."""
    state, _ = step(assigned(ANA), customer(), NOW, POLICIES["sticky"])
    assert next_wakeup(state, POLICIES["sticky"]) == T0 + IDLE


@pytest.mark.parametrize("policy", ["sticky", "pool"])
def test_full_cycle_keeps_the_invariants(policy: str) -> None:
    """waiting -> assigned -> replied -> customer -> ... -> completed, invariants at each step."""
    p = POLICIES[policy]
    state = waiting()
    script: list[tuple[Message, datetime, str]] = [
        (Assign(SID, ANA, Caller(ANA)), NOW, "assigned"),
        (AgentReply(SID, Caller(ANA), "Hi"), NOW + timedelta(minutes=1), "waiting_real_user_reply"),
        (Wake(), NOW + timedelta(hours=1), "waiting_real_user_reply"),
        (
            customer(at=NOW + timedelta(hours=2)),
            NOW + timedelta(hours=2),
            "assigned" if policy == "sticky" else "waiting_assignment",
        ),
        (Release(SID, SUPERVISOR), NOW + timedelta(hours=2, minutes=1), "waiting_assignment"),
        (Assign(SID, BEN, Caller(BEN)), NOW + timedelta(hours=3), "assigned"),
        (Wake(), NOW + timedelta(hours=3) + IDLE, "waiting_assignment"),
        (Assign(SID, ANA, Caller(ANA)), NOW + timedelta(hours=4), "assigned"),
        (customer("end chat", NOW + timedelta(hours=5)), NOW + timedelta(hours=5), "completed"),
    ]
    for message, at, expected in script:
        state, _ = step(state, message, at, p)
        assert_invariants(state)
        assert the_session(state).chat_state == expected, (message, at)
    assert the_session(state).last_operator_id == ANA


def test_pool_chat_waiting_for_the_customer_is_not_assignable() -> None:
    """In pool, a chat waiting for the customer's reply cannot be assigned."""
    before = replied(None)
    state, effects = step(before, Assign(SID, BEN, Caller(BEN)), NOW, POLICIES["pool"])
    outcome = outcome_of(effects)
    assert outcome is not None and not outcome.ok
    assert state == before
