"""Who may see what: the one visibility rule, for the HTTP API and the real-time feed alike,
and the rule that only operators take chats."""

from __future__ import annotations

from actors.conversation.events import Event
from gateway.auth import ENV_ADMIN_ID, Principal, at_least
from gateway.errors import ApiError
from storage.views import SessionView


def may_see(principal: Principal, session: SessionView | None) -> bool:
    """Supervisors see everything; agents see the sessions they hold or handled last, and
    those that wait (nothing outside a session)."""
    if at_least(principal, "supervisor"):
        return True
    if session is None:
        return False
    return (
        principal.id in (session.agent_id, session.last_operator_id)
        or session.chat_state == "waiting_assignment"
    )


def may_receive(principal: Principal, event: Event) -> bool:
    """Whether a real-time event goes to this operator's feed: the queue's changes go to
    every operator; the rest by the session they belong to."""
    return event.type == "queue.changed" or may_see(principal, event.session)


def operator_only(principal: Principal) -> None:
    """Taking chats is for operators; the environment's admin token is not one."""
    if principal.id == ENV_ADMIN_ID:
        raise ApiError(
            403,
            "not_an_operator",
            "the environment admin takes no chats; create an operator (POST /api/operators)",
        )
