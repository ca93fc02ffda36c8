"""Seed 004's chat state machine inside a session: assign, operator reply, customer message,
release (manual or idle). Pure functions of (state, ..., now, policy) -> (state, effects).

Policies: `sticky` keeps an accepted chat with its operator until it ends; `pool` releases
the operator when it replies and puts the chat back in the queue when the customer writes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec

from actors.conversation.effects import AssignmentLog, Effect, Notify, Record, Send
from actors.conversation.policy import Policy
from actors.conversation.sessions import message_event, move, note, session_dict, updated
from actors.conversation.state import ConversationState, Session

replace = msgspec.structs.replace


class Outcome(msgspec.Struct, frozen=True):
    """The answer to a session command: done (with the session), or why not (`code`)."""

    ok: bool
    code: str | None = None
    message: str = ""
    session: dict[str, Any] | None = None
    message_index: int | None = None  # the message of this step's commit it produced...
    message_id: int | None = None  # ...and its id, filled in by the shell after the commit


def refused(
    code: str, message: str, state: ConversationState | None = None, session: Session | None = None
) -> Outcome:
    view = session_dict(state, session) if state is not None and session is not None else None
    return Outcome(False, code, message, view)


def open_session(state: ConversationState, session_id: str) -> Session | Outcome:
    """The open session with that id, or the refusal to give."""
    session = state.session
    if session is not None and session.id == session_id:
        return session
    last = state.last_session
    if last is not None and last.id == session_id:
        return refused("session_ended", f"session {session_id} has ended", state, last)
    return refused("not_found", f"no session {session_id}")


def idle_deadline(session: Session, policy: Policy) -> datetime | None:
    """When an assigned chat whose operator stays silent goes back to the queue."""
    if session.chat_state != "assigned" or session.operator_active_at is None:
        return None
    return session.operator_active_at + timedelta(minutes=policy.assignment.idle_minutes)


def assign(
    state: ConversationState, session_id: str, operator_id: str, now: datetime, fx: list[Effect]
) -> tuple[ConversationState, Outcome]:
    found = open_session(state, session_id)
    if isinstance(found, Outcome):
        return state, found
    session = found
    if session.agent_id is not None:
        if session.agent_id == operator_id:
            return state, Outcome(True, session=session_dict(state, session))
        return state, refused("held_by_other", f"held by {session.agent_id}", state, session)
    if session.chat_state == "waiting_real_user_reply":
        return state, refused(
            "awaiting_customer",
            "the chat waits for the customer's reply; it is assignable when the customer writes",
            state,
            session,
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
    note(state, session, f"Assigned to {operator_id}", fx)
    updated(state, session, fx)
    if was_waiting:
        fx.append(Notify("queue.changed", {"session_id": session.id, "change": "removed"}))
    return state, Outcome(True, session=session_dict(state, session))


def release(
    state: ConversationState, session_id: str, reason: str, now: datetime, fx: list[Effect]
) -> tuple[ConversationState, Outcome]:
    """Back to waiting_assignment (manual unassign, idle, the customer wrote in pool)."""
    found = open_session(state, session_id)
    if isinstance(found, Outcome):
        return state, found
    session = found
    if session.chat_state == "waiting_assignment":
        return state, Outcome(True, session=session_dict(state, session))
    if session.agent_id is not None:
        fx.append(AssignmentLog(session.id, session.agent_id, "released", reason))
    session = move(session, now, "waiting_assignment", agent_id=None, operator_active_at=None)
    state = replace(state, session=session)
    note(state, session, f"Back in the queue ({reason})", fx)
    updated(state, session, fx)
    fx.append(Notify("queue.changed", {"session_id": session.id, "change": "added"}))
    return state, Outcome(True, session=session_dict(state, session))


def operator_reply(
    state: ConversationState,
    session_id: str,
    operator_id: str,
    text: str,
    may_override: bool,
    now: datetime,
    policy: Policy,
    fx: list[Effect],
) -> tuple[ConversationState, Outcome]:
    """The operator writes to the customer: sent, and the chat waits for the customer."""
    found = open_session(state, session_id)
    if isinstance(found, Outcome):
        return state, found
    session = found
    if session.agent_id != operator_id and not may_override:
        return state, refused("not_held", "the session is not held by you", state, session)
    if not state.window_open(now):
        return state, refused(
            "window_closed",
            "the customer's 24-hour window is closed; only templates can be sent",
            state,
            session,
        )
    index = sum(1 for e in fx if isinstance(e, Send | Record))
    fx.append(Send(text, sender_type="agent", sender_id=operator_id, session_id=session.id))
    fx.append(message_event(state, session, "agent", text, operator_id))
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
        message_count=state.message_count + 1,
        unread_count=0,
    )
    updated(state, session, fx)
    if was_waiting:
        fx.append(Notify("queue.changed", {"session_id": session.id, "change": "removed"}))
    return state, Outcome(True, session=session_dict(state, session), message_index=index)


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
    state, _ = release(state, session.id, "customer_message", now, fx)
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
        state, _ = release(state, session.id, "idle", now, fx)
    return state
