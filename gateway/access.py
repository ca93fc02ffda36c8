"""Who may see and do what with a session: the one visibility rule of the HTTP API and the
real-time feed, and the rule that only operators take chats."""

from __future__ import annotations

from typing import Any

from gateway.auth import ENV_ADMIN_ID, Principal, at_least
from gateway.errors import ApiError


def may_see(principal: Principal, row: dict[str, Any]) -> bool:
    """Agents see the sessions they hold or handled last and those that wait; supervisors
    see all. (`may_read` adds the sessions an agent handled earlier.)"""
    if at_least(principal, "supervisor"):
        return True
    return (
        principal.id in (row["agent_id"], row["last_operator_id"])
        or row["chat_state"] == "waiting_assignment"
    )


def operator_only(principal: Principal) -> None:
    """Taking chats is for operators; the environment's admin token is not one."""
    if principal.id == ENV_ADMIN_ID:
        raise ApiError(
            403,
            "not_an_operator",
            "the environment admin takes no chats; create an operator (POST /api/operators)",
        )
