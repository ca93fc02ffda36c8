"""Live-agent sessions inside a conversation (seed 001): start, the customer's side, end,
expiry; and their JSON shape for the API and the dashboards. The assignment side (seed 004)
is in `assignment.py`."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from typing import Any

import msgspec

from actors.conversation.effects import AssignmentLog, Effect, Journal, Notify, Record, Send
from actors.conversation.policy import Policy
from actors.conversation.state import ChatState, ConversationState, Session
from storage.timefmt import iso, iso_or_none

replace = msgspec.structs.replace
STATUS_OF: dict[ChatState, str] = {
    "waiting_assignment": "waiting",
    "assigned": "active",
    "waiting_real_user_reply": "active",
    "completed": "ended",
}


class SessionInvariantError(AssertionError):
    """A transition would break seed 004's constraints (a bug, never a user error)."""


def fold(text: str) -> str:
    """Case- and accent-insensitive form, with runs of blanks collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.split())


def is_end_keyword(text: str | None, policy: Policy) -> bool:
    if not text:
        return False
    folded = fold(text)
    return any(folded == fold(k) for k in policy.sessions.end_keywords)


def move(session: Session, now: datetime, chat_state: ChatState, **changes: Any) -> Session:
    """The one way a session changes state: status follows chat_state, state_since is
    stamped, and the two invariants are checked."""
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


def session_dict(state: ConversationState, session: Session) -> dict[str, Any]:
    """The session shape of API.md (also the data of dashboard events)."""
    return {
        "id": session.id,
        "conversation_id": state.id,
        "phone_number": state.phone,
        "customer_name": state.customer_name,
        "status": session.status,
        "chat_state": session.chat_state,
        "agent_id": session.agent_id,
        "last_operator_id": session.last_operator_id,
        "started_by": session.started_by,
        "started_at": iso(session.started_at),
        "accepted_at": iso_or_none(session.accepted_at),
        "operator_replied_at": iso_or_none(session.operator_replied_at),
        "expires_at": iso(session.expires_at),
        "ended_at": iso_or_none(session.ended_at),
        "end_reason": session.end_reason,
        "state_since": iso(session.since),
        "rev": session.rev,
    }


def note(state: ConversationState, session: Session, text: str, fx: list[Effect]) -> None:
    """A system message in the session (seen by agents, not sent to the customer)."""
    fx.append(Record("out", "system", "note", text, session_id=session.id))
    fx.append(message_event(state, session, "system", text))


def updated(
    state: ConversationState, session: Session, fx: list[Effect], event: str = "session.updated"
) -> None:
    fx.append(Notify(event, session_dict(state, session)))


def tell_customer(
    state: ConversationState, session: Session, text: str, now: datetime, fx: list[Effect]
) -> None:
    """An automatic notice: sent inside the 24-hour window, else journaled as not sent."""
    if state.window_open(now):
        fx.append(Send(text, sender_type="system", session_id=session.id))
    else:
        fx.append(Journal("agent_session", "notice_not_sent", "24-hour window closed"))


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
    number = state.sessions_started + 1
    session = Session(
        id=f"{state.id}.s{number}",
        started_at=now,
        expires_at=now + timedelta(hours=policy.sessions.expiry_hours),
        started_by=started_by,  # type: ignore[arg-type]
        state_since=now,
    )
    state = replace(state, session=session, sessions_started=number, flow=None)
    tell_customer(state, session, policy.sessions.connecting_text, now, fx)
    note(state, session, f"Session started by the {started_by}; waiting for an agent", fx)
    fx.append(Journal("agent_session", "session_started", f"{session.id} by {started_by}"))
    updated(state, session, fx, "session.created")
    fx.append(Notify("queue.changed", {"session_id": session.id, "change": "added"}))
    return state


def end_session(
    state: ConversationState, now: datetime, reason: str, text: str | None, fx: list[Effect]
) -> ConversationState:
    """Close the open session; the bot owns the conversation again."""
    session = state.session
    if session is None:
        return state
    if session.agent_id is not None:
        fx.append(AssignmentLog(session.id, session.agent_id, "released", "ended"))
    ended = move(session, now, "completed", ended_at=now, end_reason=reason, agent_id=None)
    state = replace(state, session=None, last_session=ended)
    if text:
        tell_customer(state, ended, text, now, fx)
    note(state, ended, f"Session ended ({reason})", fx)
    fx.append(Journal("agent_session", f"session_ended_{reason}", ended.id))
    updated(state, ended, fx)
    if session.chat_state == "waiting_assignment":
        fx.append(Notify("queue.changed", {"session_id": session.id, "change": "removed"}))
    return state


def check_expiry(
    state: ConversationState, now: datetime, policy: Policy, fx: list[Effect]
) -> ConversationState:
    session = state.session
    if session is not None and now >= session.expires_at:
        return end_session(state, now, "expired", policy.sessions.expired_text, fx)
    return state


def message_event(
    state: ConversationState,
    session: Session | None,
    sender_type: str,
    text: str | None,
    sender_id: str | None = None,
) -> Notify:
    """A `message.created` event, carrying who holds the session (so that each dashboard
    feed can tell, without asking anyone, whether its operator may see it)."""
    data: dict[str, Any] = {
        "conversation_id": state.id,
        "sender_type": sender_type,
        "sender_id": sender_id,
        "text": text,
        "session_id": None,
    }
    if session is not None:
        data.update(
            session_id=session.id,
            agent_id=session.agent_id,
            last_operator_id=session.last_operator_id,
            chat_state=session.chat_state,
        )
    return Notify("message.created", data)
