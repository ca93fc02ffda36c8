"""Seed 004's chat state machine inside a session: assign, operator reply, customer message,
release (manual or idle). Pure functions of (state, ..., now, policy) -> (state, effects).

Every command names its caller, and is checked here, against the state: an operator acts on
a chat it holds; a caller who may override (a supervisor, an admin) on any.

Policies: `sticky` keeps an accepted chat with its operator until it ends; `pool` releases
the operator when it replies and puts the chat back in the queue when the customer writes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from actors.conversation.effects import AssignmentLog, Effect, Send
from actors.conversation.messages import Caller
from actors.conversation.outcome import Outcome, refused
from actors.conversation.policy import Policy
from actors.conversation.recipient import deliverable
from actors.conversation.sessions import move, note, queue_changed, updated
from actors.conversation.state import ConversationState, Session
from actors.conversation.views import session_view

replace = msgspec.structs.replace


def open_session(state: ConversationState, session_id: str) -> Session | Outcome:
    """The open session with that id, or the refusal to give."""
    session = state.session
    if session is not None and session.id == session_id:
        return session
    last = state.last_session
    if last is not None and last.id == session_id:
        return refused(
            "session_ended", f"session {session_id} has ended", session_view(state, last)
        )
    return refused("not_found", f"no session {session_id}")


def holds(session: Session, caller: Caller) -> bool:
    return session.agent_id is not None and session.agent_id == caller.id


def not_held(state: ConversationState, session: Session) -> Outcome:
    return refused("not_held", "the session is not held by you", session_view(state, session))


def idle_deadline(session: Session, policy: Policy) -> datetime | None:
    """When an assigned chat whose operator stays silent goes back to the queue."""
    if session.chat_state != "assigned" or session.operator_active_at is None:
        return None
    return session.operator_active_at + timedelta(minutes=policy.assignment.idle_minutes)


def assign(
    state: ConversationState,
    session_id: str,
    operator_id: str,
    caller: Caller,
    now: datetime,
    fx: list[Effect],
) -> tuple[ConversationState, Outcome]:
    found = open_session(state, session_id)
    if isinstance(found, Outcome):
        return state, found
    session = found
    if operator_id != caller.id and not caller.may_override:
        return state, refused(
            "forbidden", "an agent may accept chats only for itself", session_view(state, session)
        )
    if session.agent_id is not None:
        if session.agent_id == operator_id:
            return state, Outcome(True, session=session_view(state, session))
        return state, refused(
            "held_by_other", f"held by {session.agent_id}", session_view(state, session)
        )
    if session.chat_state == "waiting_real_user_reply":
        return state, refused(
            "awaiting_customer",
            "the chat waits for the customer's reply; it is assignable when the customer writes",
            session_view(state, session),
        )
    was_waiting = session.chat_state == "waiting_assignment"
    session = move(
        session,
        now,
        "assigned",
        agent_id=operator_id,
        last_operator_id=operator_id,
        accepted_at=session.accepted_at or now,
        operator_active_at=now,
    )
    state = replace(state, session=session)
    fx.append(AssignmentLog(session.id, operator_id, "assigned"))
    note(session, f"Assigned to {operator_id}", fx)
    updated(state, session, fx)
    if was_waiting:
        queue_changed(session, "removed", fx)
    return state, Outcome(True, session=session_view(state, session))


def release(
    state: ConversationState,
    session_id: str,
    caller: Caller | None,
    reason: str,
    now: datetime,
    fx: list[Effect],
) -> tuple[ConversationState, Outcome]:
    """Back to waiting_assignment: asked by `caller` (the holder, or one who may override),
    or by the conversation itself (`None`: idle, the customer wrote in pool)."""
    found = open_session(state, session_id)
    if isinstance(found, Outcome):
        return state, found
    session = found
    if caller is not None and not (holds(session, caller) or caller.may_override):
        return state, not_held(state, session)
    if session.chat_state == "waiting_assignment":
        return state, Outcome(True, session=session_view(state, session))
    if session.agent_id is not None:
        fx.append(AssignmentLog(session.id, session.agent_id, "released", reason))
    session = move(session, now, "waiting_assignment", agent_id=None, operator_active_at=None)
    state = replace(state, session=session)
    note(session, f"Back in the queue ({reason})", fx)
    updated(state, session, fx)
    queue_changed(session, "added", fx)
    return state, Outcome(True, session=session_view(state, session))


def operator_reply(
    state: ConversationState,
    session_id: str,
    caller: Caller,
    text: str,
    now: datetime,
    policy: Policy,
    fx: list[Effect],
) -> tuple[ConversationState, Outcome, Send | None]:
    """The operator writes to the customer: sent, and the chat waits for the customer."""
    found = open_session(state, session_id)
    if isinstance(found, Outcome):
        return state, found, None
    session = found
    if not (holds(session, caller) or caller.may_override):
        return state, not_held(state, session), None
    if not deliverable(state.phone or state.customer_id):
        outcome = refused(
            "invalid_recipient",
            "the customer's number is not one WhatsApp can deliver to",
            session_view(state, session),
        )
        return state, outcome, None
    if not state.window_open(now):
        outcome = refused(
            "window_closed",
            "the customer's 24-hour window is closed; only templates can be sent",
            session_view(state, session),
        )
        return state, outcome, None
    operator_id = caller.id
    send = Send(text, sender_type="agent", sender_id=operator_id, session_id=session.id)
    fx.append(send)
    holder = session.agent_id
    if holder == operator_id:
        fx.append(AssignmentLog(session.id, operator_id, "replied"))
    keep = holder if policy.assignment.policy == "sticky" else None
    if holder is not None and keep is None:
        reason = "replied" if holder == operator_id else f"replied_by_{operator_id}"
        fx.append(AssignmentLog(session.id, holder, "released", reason))

    was_waiting = session.chat_state == "waiting_assignment"
    session = move(
        session,
        now,
        "waiting_real_user_reply",
        operator_replied_at=now,
        last_operator_id=operator_id,
        agent_id=keep,
        operator_active_at=now,
    )
    state = replace(
        state,
        session=session,
        last_activity_at=now,
        unread_count=0,
    )
    updated(state, session, fx)
    if was_waiting:
        queue_changed(session, "removed", fx)
    return state, Outcome(True, session=session_view(state, session)), send


def customer_wrote(
    state: ConversationState, now: datetime, policy: Policy, fx: list[Effect]
) -> ConversationState:
    """The customer wrote in an open session: in `pool` the chat goes back to the queue (the
    operator holding it is released); in `sticky` it goes back to its operator."""
    session = state.session
    assert session is not None
    if session.chat_state == "waiting_assignment":
        return state
    if policy.assignment.policy == "sticky" and session.agent_id is not None:
        if session.chat_state == "assigned":
            return state
        session = move(session, now, "assigned", operator_active_at=now)
        state = replace(state, session=session)
        updated(state, session, fx)
        return state
    state, _ = release(state, session.id, None, "customer_message", now, fx)
    return state


def check_idle(
    state: ConversationState, now: datetime, policy: Policy, fx: list[Effect]
) -> ConversationState:
    """An assigned chat whose operator has not written for idle_minutes is released; a chat
    waiting for the customer's reply never is."""
    session = state.session
    if session is None:
        return state
    deadline = idle_deadline(session, policy)
    if deadline is not None and now >= deadline:
        state, _ = release(state, session.id, None, "idle", now, fx)
    return state
