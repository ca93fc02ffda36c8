"""Live-agent sessions inside a conversation (seed 001): start, end, expiry, and the notices
and system lines they make. The assignment side (seed 004) is in `assignment.py`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

import msgspec

from actors.conversation.automatic import automatic
from actors.conversation.effects import AssignmentLog, Effect, Journal, Notify, Record
from actors.conversation.events import QueueChange
from actors.conversation.policy import Policy
from actors.conversation.state import ConversationState, Session
from actors.conversation.views import session_view
from actors.flows.matching import fold
from actors.flows.model import TemplateRef
from storage.views import ChatState, SessionStatus

replace = msgspec.structs.replace
STATUS_OF: dict[ChatState, SessionStatus] = {
    "waiting_assignment": "waiting",
    "assigned": "active",
    "waiting_real_user_reply": "active",
    "completed": "ended",
}


class SessionInvariantError(AssertionError):
    """A transition would break seed 004's constraints (a bug, never a user error)."""


def is_end_keyword(text: str | None, policy: Policy) -> bool:
    if not text:
        return False
    folded = fold(text)
    return any(folded == fold(k) for k in policy.sessions.end_keywords)


def move(session: Session, now: datetime, chat_state: ChatState, **changes: Any) -> Session:
    """The one way a session changes state: status follows chat_state, state_since is
    stamped, `rev` counts the change, and the two invariants are checked."""
    if chat_state != session.chat_state:
        changes["state_since"] = now
    moved = replace(
        session, chat_state=chat_state, status=STATUS_OF[chat_state], rev=session.rev + 1, **changes
    )
    if moved.chat_state == "assigned" and moved.agent_id is None:
        raise SessionInvariantError(f"{moved.id}: assigned without an operator")
    if moved.chat_state == "waiting_real_user_reply" and moved.operator_replied_at is None:
        raise SessionInvariantError(f"{moved.id}: waiting_real_user_reply without a reply time")
    return moved


def note(session: Session, text: str, fx: list[Effect]) -> None:
    """A system line in the session (seen by agents, not sent to the customer)."""
    fx.append(Record("out", "system", "note", text, session_id=session.id))


def updated(
    state: ConversationState, session: Session, fx: list[Effect], *, created: bool = False
) -> None:
    """The session's event: its view as it stands now."""
    event: Literal["session.created", "session.updated"] = (
        "session.created" if created else "session.updated"
    )
    fx.append(Notify(event, session_view(state, session)))


def queue_changed(session: Session, change: Literal["added", "removed"], fx: list[Effect]) -> None:
    fx.append(Notify("queue.changed", QueueChange(session.id, change)))


def tell_customer(
    state: ConversationState,
    session: Session,
    what: str,
    text: str,
    template: TemplateRef | None,
    now: datetime,
    fx: list[Effect],
) -> None:
    """A session notice: an automatic message (the window decides text or template)."""
    automatic(state, what, text, template, now, fx, sender_type="system", session_id=session.id)


def start_session(
    state: ConversationState,
    now: datetime,
    policy: Policy,
    fx: list[Effect],
    started_by: str = "customer",
) -> ConversationState:
    """Open a waiting session; the customer is told an agent is coming."""
    if state.session is not None:
        return state
    if state.next_session_id is None:
        raise SessionInvariantError(f"{state.id}: no id for a new session (the shell gives one)")
    number = state.sessions_started + 1
    session = Session(
        id=state.next_session_id,
        started_at=now,
        expires_at=now + timedelta(hours=policy.sessions.expiry_hours),
        started_by=started_by,  # type: ignore[arg-type]
        state_since=now,
    )
    state = replace(
        state, session=session, sessions_started=number, flow=None, next_session_id=None
    )
    notices = policy.sessions
    tell_customer(
        state, session, "session_connecting", notices.connecting_text,
        notices.connecting_template, now, fx,
    )  # fmt: skip
    note(session, f"Session started by the {started_by}; waiting for an agent", fx)
    fx.append(Journal("agent_session", "session_started", f"{session.id} by {started_by}"))
    updated(state, session, fx, created=True)
    queue_changed(session, "added", fx)
    return state


def end_session(
    state: ConversationState, now: datetime, reason: str, policy: Policy, fx: list[Effect]
) -> ConversationState:
    """Close the open session; the bot owns the conversation again. The customer is told
    (the expiry notice when it expired)."""
    session = state.session
    if session is None:
        return state
    if session.agent_id is not None:
        fx.append(AssignmentLog(session.id, session.agent_id, "released", "ended"))
    ended = move(session, now, "completed", ended_at=now, end_reason=reason, agent_id=None)
    state = replace(state, session=None, last_session=ended)
    notices = policy.sessions
    if reason == "expired":
        text, template = notices.expired_text, notices.expired_template
    else:
        text, template = notices.ended_text, notices.ended_template
    tell_customer(state, ended, f"session_{reason}", text, template, now, fx)
    note(ended, f"Session ended ({reason})", fx)
    fx.append(Journal("agent_session", f"session_ended_{reason}", ended.id))
    updated(state, ended, fx)
    if session.chat_state == "waiting_assignment":
        queue_changed(session, "removed", fx)
    return state


def check_expiry(
    state: ConversationState, now: datetime, policy: Policy, fx: list[Effect]
) -> ConversationState:
    session = state.session
    if session is not None and now >= session.expires_at:
        return end_session(state, now, "expired", policy, fx)
    return state
