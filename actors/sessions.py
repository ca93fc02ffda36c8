"""Live-agent sessions inside a conversation: start, customer side, end, expiry (seed 001)."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta

import msgspec

from actors.effects import Effect, Journal, Notify, Send
from actors.policy import Policy
from actors.state import ConversationState, Session

replace = msgspec.structs.replace


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


def session_dict(state: ConversationState, session: Session) -> dict[str, object]:
    return {
        "id": session.id,
        "conversation_id": state.id,
        "phone_number": state.phone,
        "status": session.status,
        "started_at": session.started_at.isoformat(),
        "expires_at": session.expires_at.isoformat(),
        "agent_id": session.agent_id,
        "end_reason": session.end_reason,
    }


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
    )
    state = replace(state, session=session, sessions_started=number, flow=None)
    fx.append(Send(policy.sessions.connecting_text, sender_type="system"))
    fx.append(Journal("agent_session", "session_started", f"{session.id} by {started_by}"))
    fx.append(Notify("session.created", session_dict(state, session)))
    return state


def end_session(
    state: ConversationState, now: datetime, reason: str, text: str | None, fx: list[Effect]
) -> ConversationState:
    """Close the open session; the bot owns the conversation again."""
    session = state.session
    if session is None:
        return state
    ended = replace(session, status="ended", ended_at=now, end_reason=reason)
    state = replace(state, session=None, last_session=ended)
    if text:
        if state.window_open(now):
            fx.append(Send(text, sender_type="system"))
        else:
            fx.append(Journal("agent_session", "notice_not_sent", "24-hour window closed"))
    fx.append(Journal("agent_session", f"session_ended_{reason}", ended.id))
    fx.append(Notify("session.updated", session_dict(state, ended)))
    return state


def check_expiry(
    state: ConversationState, now: datetime, policy: Policy, fx: list[Effect]
) -> ConversationState:
    session = state.session
    if session is not None and now >= session.expires_at:
        return end_session(state, now, "expired", policy.sessions.expired_text, fx)
    return state


def customer_in_session(
    state: ConversationState, text: str | None, now: datetime, policy: Policy, fx: list[Effect]
) -> ConversationState:
    """The customer wrote while a session is open: end it, or pass it to the agents."""
    if is_end_keyword(text, policy):
        return end_session(state, now, "customer", policy.sessions.ended_text, fx)
    session = state.session
    assert session is not None
    fx.append(Journal("agent_session", "forwarded_to_agent", session.id))
    fx.append(
        Notify(
            "message.created", {"session_id": session.id, "sender_type": "customer", "text": text}
        )
    )
    return state
