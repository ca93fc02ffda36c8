"""The pure heart: `step(state, message, now, policy) -> (state, effects)`. No I/O, no clock
but `now`; every rule of the seeds is a table of cases of this function."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from actors.conversation.assignment import (
    assign,
    check_idle,
    customer_wrote,
    holds,
    idle_deadline,
    not_held,
    open_session,
    operator_reply,
    release,
)
from actors.conversation.automatic import closed_window_gate
from actors.conversation.bot import run_bot
from actors.conversation.customer import annotate, annotation, content_of, record, system_line
from actors.conversation.effects import Effect, Journal, Record, Reply, Send
from actors.conversation.maintenance import maintain, unarchive
from actors.conversation.messages import (
    Adopt,
    AgentMessage,
    AgentReply,
    Archive,
    Assign,
    CustomerMessage,
    EndSession,
    Message,
    MessagesRead,
    PauseRequest,
    Ping,
    Release,
    ResumeRequest,
    StartSession,
    Unarchive,
    Wake,
)
from actors.conversation.outcome import Outcome, refused
from actors.conversation.pause import (
    check_pause,
    is_wati_chatbot,
    pause_by_request,
    pause_for_agent,
    resume_by_request,
    trigger_reason,
)
from actors.conversation.policy import Policy
from actors.conversation.recipient import deliverable
from actors.conversation.sessions import check_expiry, end_session, is_end_keyword, start_session
from actors.conversation.state import ConversationState
from actors.conversation.summary import summary
from actors.conversation.timeouts import check_timeouts, rearm, timeout_deadlines
from actors.conversation.views import pause_view, session_view
from storage.content import System
from storage.views import Deadline

replace = msgspec.structs.replace
# Kinds that belong to the conversation but that the bot does not answer.
SILENT_KINDS = frozenset({"reaction", "system", "unsupported", "revoke", "edit", "unknown"})


def step(
    state: ConversationState, msg: Message, now: datetime, policy: Policy
) -> tuple[ConversationState, list[Effect]]:
    """Apply one message; deadlines that are due are handled first, whatever the message."""
    fx: list[Effect] = []
    before = state.flow
    state = check_expiry(state, now, policy, fx)
    state = check_idle(state, now, policy, fx)
    state, paused = check_pause(state, now, fx)
    state = check_timeouts(state, now, policy, paused, fx)
    fresh = False
    match msg:
        case CustomerMessage():
            state, fresh = _customer(state, msg, now, policy, paused, fx)
        case AgentMessage():
            state = _agent(state, msg, now, policy, fx)
        case PauseRequest():
            state = pause_by_request(state, msg.hours, msg.by, now, fx)
            assert state.pause is not None
            fx.append(Reply(pause_view(state, state.pause, now)))
        case ResumeRequest():
            had = state.pause is not None
            state = resume_by_request(state, msg.by, fx)
            fx.append(Reply(had))
        case Wake() | Ping():
            fx.append(Reply(None))
        case Archive() | Unarchive() | MessagesRead() | Adopt():
            state = maintain(state, msg, now, fx)
        case StartSession():
            if state.session is not None:
                outcome = refused(
                    "session_open", "a session is already open", session_view(state, state.session)
                )
            else:
                state = start_session(state, now, policy, fx, msg.started_by)
                assert state.session is not None
                outcome = Outcome(True, session=session_view(state, state.session))
            fx.append(Reply(outcome))
        case Assign() | Release() | EndSession() | AgentReply() if not msg.caller.id:
            fx.append(Reply(refused("forbidden", "a session command needs an operator")))
        case Assign():
            state, outcome = assign(state, msg.session_id, msg.operator_id, msg.caller, now, fx)
            fx.append(Reply(outcome))
        case Release():
            state, outcome = release(state, msg.session_id, msg.caller, msg.reason, now, fx)
            fx.append(Reply(outcome))
        case EndSession():
            state, outcome = _end(state, msg, now, policy, fx)
            fx.append(Reply(outcome))
        case AgentReply():
            state, outcome, sent = operator_reply(
                state, msg.session_id, msg.caller, msg.text, now, policy, fx
            )
            fx.append(Reply(outcome, sent))
    state = rearm(state, before, now, policy, state.pause is not None, fresh)
    if not fresh:
        fx = closed_window_gate(state, now, fx)
    if not deliverable(state.phone or state.customer_id) and any(isinstance(e, Send) for e in fx):
        fx = _undeliverable(fx)
    return state, fx


def _end(
    state: ConversationState, msg: EndSession, now: datetime, policy: Policy, fx: list[Effect]
) -> tuple[ConversationState, Outcome]:
    """The holder ends it as `agent`; a caller who may override, as `supervisor`."""
    found = open_session(state, msg.session_id)
    if isinstance(found, Outcome):
        return state, found
    if holds(found, msg.caller):
        reason = "agent"
    elif msg.caller.may_override:
        reason = "supervisor"
    else:
        return state, not_held(state, found)
    state = end_session(state, now, reason, policy, fx)
    assert state.last_session is not None
    return state, Outcome(True, session=session_view(state, state.last_session))


def _customer(
    state: ConversationState,
    msg: CustomerMessage,
    now: datetime,
    policy: Policy,
    paused: bool,
    fx: list[Effect],
) -> tuple[ConversationState, bool]:
    """Routing, in order: a system notice or a change to an earlier message is no message;
    then record; reopen; open session; pause; AGENT_MODE; stale; the bot. Also tells whether
    the message reached the bot fresh, which cancels the timeout pending (a stale one does
    not)."""
    content = content_of(msg)
    state = replace(
        state,
        phone=msg.who.phone or state.phone,
        bsuid=msg.who.bsuid or state.bsuid,
        customer_name=msg.who.name or state.customer_name,
        external_conversation_id=msg.external_conversation_id or state.external_conversation_id,
    )
    if isinstance(content, System):
        return system_line(state, msg, content, now, fx), False
    change = annotation(content, "customer")
    if change is not None:
        return annotate(state, change, now, fx), False
    record(state, msg, content, fx)
    inbound_at = min(msg.sent_at, now)
    if state.last_inbound_at is not None and state.last_inbound_at > inbound_at:
        inbound_at = state.last_inbound_at
    state = replace(
        state,
        last_inbound_at=inbound_at,
        last_activity_at=now,
        unread_count=state.unread_count + 1,
    )
    fx.append(Journal("message_received", "recorded", f"{msg.kind} {msg.provider_message_id}"))
    if state.archived_at is not None:
        state = unarchive(state, "customer", fx)
    if state.status == "closed":
        state = replace(state, status="open", closed_reason=None)
        fx.append(Journal("conversation", "reopened"))
    if state.session is not None:
        if is_end_keyword(msg.text, policy):
            return end_session(state, now, "customer", policy, fx), False
        fx.append(Journal("agent_session", "forwarded_to_agent", state.session.id))
        return customer_wrote(state, now, policy, fx), False
    if paused:
        assert state.pause is not None
        fx.append(
            Journal(
                "conversation_pause_check",
                "paused_by_agent",
                f"until {state.pause.until.isoformat()}",
            )
        )
        return state, False
    if msg.choice_id is not None and msg.choice_id == policy.sessions.agent_mode_button:
        return start_session(state, now, policy, fx), True
    if msg.kind in SILENT_KINDS:
        fx.append(Journal("bot", "not_answered", f"{msg.kind} message"))
        return state, True
    max_age = timedelta(minutes=policy.bot.max_message_age_minutes)
    if now - msg.sent_at > max_age:
        fx.append(Journal("bot", "stale_message_not_answered", f"sent {msg.sent_at.isoformat()}"))
        return state, False
    return run_bot(state, msg, now, policy, fx), True


def _agent(
    state: ConversationState, msg: AgentMessage, now: datetime, policy: Policy, fx: list[Effect]
) -> ConversationState:
    """A message written from another inbox: recorded (unless our own echo); may pause."""
    if msg.is_echo:
        fx.append(Journal("agent_detection", "echo_ignored", msg.provider_message_id))
        return state
    content = content_of(msg)
    change = annotation(content, "agent")
    if change is not None:
        return annotate(state, change, now, fx)
    chatbot = is_wati_chatbot(msg)
    fx.append(
        Record(
            "out",
            "bot" if chatbot else "agent",
            msg.kind,
            summary(content),
            msg.provider_message_id,
            sender_id="wati" if chatbot else msg.agent_email,
            payload=msg.payload,
            delivery_status="sent",
            content=content,
            reply_to=msg.reply_to,
        )
    )
    state = replace(
        state,
        last_activity_at=now,
        external_conversation_id=msg.external_conversation_id or state.external_conversation_id,
    )
    reason = trigger_reason(msg, policy)
    if reason is not None:
        fx.append(Journal("agent_detection", reason, msg.agent_email or msg.origin))
        return state
    return pause_for_agent(state, msg, now, policy, fx)


def _undeliverable(fx: list[Effect]) -> list[Effect]:
    """Nothing goes to a recipient that is neither a phone number nor a BSUID: the sends
    of the step are dropped, and the journal says why."""
    kept: list[Effect] = [e for e in fx if not isinstance(e, Send)]
    dropped = len(fx) - len(kept)
    kept.append(Journal("bot", "not_answered", f"invalid recipient: {dropped} message(s) not sent"))
    return kept


def deadlines(state: ConversationState, policy: Policy) -> list[Deadline]:
    """Every timer of the conversation: what falls due, and when."""
    found = timeout_deadlines(state)
    if state.pause is not None:
        found.append(Deadline("pause_expiry", state.pause.until))
    if state.session is not None:
        found.append(Deadline("session_expiry", state.session.expires_at))
        idle = idle_deadline(state.session, policy)
        if idle is not None:
            found.append(Deadline("operator_idle", idle))
    return found


def earliest(timers: list[Deadline]) -> datetime | None:
    """When the first of them falls due."""
    return min((d.at for d in timers), default=None)


def next_wakeup(state: ConversationState, policy: Policy) -> datetime | None:
    """The earliest deadline in the state: when `Wake` must arrive."""
    return earliest(deadlines(state, policy))
