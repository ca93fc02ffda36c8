"""Who may see what: the one visibility rule, for every read of the HTTP API and the
real-time feed alike, and the rule that only operators take chats.

An agent reads a session while it holds it or while it waits in the queue, a live one that
nobody holds when it answered last (in `pool`, after its reply), and the ended sessions it
handled. A live chat that another operator holds now (or answered last) is not the agent's,
even when the agent held it before: who hands a chat over stops reading it.
"""

from __future__ import annotations

from actors.conversation.events import Event
from gateway.auth import ENV_ADMIN_ID, Principal, at_least
from gateway.errors import ApiError
from storage.views import SessionView


def may_see(principal: Principal, session: SessionView | None, *, handled: bool = False) -> bool:
    """Supervisors see everything; agents what the module says (nothing outside a session).
    `handled`: the agent held this session at some time (its assignments say so), which
    opens it once it has ended."""
    if at_least(principal, "supervisor"):
        return True
    if session is None:
        return False
    if session.agent_id is not None:
        return session.agent_id == principal.id
    if session.chat_state == "waiting_assignment":
        return True
    if session.status == "ended":
        return handled or session.last_operator_id == principal.id
    return session.last_operator_id == principal.id


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
