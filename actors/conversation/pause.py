"""Seed 000: the bot pause when a human agent writes in the conversation from another inbox."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from actors.conversation.effects import Effect, Journal, Notify
from actors.conversation.events import ConversationPaused, ConversationResumed
from actors.conversation.messages import AgentMessage
from actors.conversation.policy import Policy
from actors.conversation.state import ConversationState, Pause

replace = msgspec.structs.replace


def check_pause(
    state: ConversationState, now: datetime, fx: list[Effect]
) -> tuple[ConversationState, bool]:
    """Clear a pause that ran out (at `until` exactly) and tell whether one still holds.

    A pause that cannot be evaluated (a damaged snapshot) is dropped and journaled: a failed
    check lets the bot answer (seed 000, "failed pause checks default to processing")."""
    pause = state.pause
    if pause is None:
        return state, False
    try:
        expired = now >= pause.until
    except Exception as exc:  # a damaged pause must never silence the bot for good
        fx.append(
            Journal("conversation_pause_check", "check_failed", f"{type(exc).__name__}: {exc}")
        )
        return replace(state, pause=None), False
    if expired:
        fx.append(
            Journal(
                "conversation_pause_expiry",
                "pause_expired",
                f"paused until {pause.until.isoformat()}",
            )
        )
        fx.append(Notify("conversation.resumed", ConversationResumed(state.id, "expired")))
        return replace(state, pause=None), False
    return state, True


def is_wati_chatbot(msg: AgentMessage) -> bool:
    """WATI's own chatbot writes as the operator "Bot": not a human taking over."""
    return msg.origin.startswith("wati") and (msg.agent_name or "").strip() == "Bot"


def trigger_reason(msg: AgentMessage, policy: Policy) -> str | None:
    """None when `msg` (a human's message, not an echo of ours) pauses the bot; else why it
    does not."""
    if is_wati_chatbot(msg):
        return "wati_chatbot"
    if msg.origin == "business_app":
        return None if policy.pause.trigger_on_business_app_echoes else "business_app_not_trigger"
    if msg.origin != "wati_session":
        return "not_session_message"
    if not msg.owner:
        return "not_owner"
    if not msg.external_conversation_id:
        return "no_conversation_id"
    email = (msg.agent_email or "").strip().casefold()
    if not email or email not in policy.trigger_emails:
        return "not_trigger_agent"
    return None


def pause_for_agent(
    state: ConversationState, msg: AgentMessage, now: datetime, policy: Policy, fx: list[Effect]
) -> ConversationState:
    """Create the pause, or extend it to `now + duration` (never shorten a longer one)."""
    until = now + timedelta(hours=policy.pause.duration_hours)
    old = state.pause
    if old is not None and old.until > until:
        until = old.until
    pause = Pause(
        until=until,
        paused_at=now,
        source="business_app" if msg.origin == "business_app" else "agent",
        agent_email=msg.agent_email,
        agent_name=msg.agent_name,
        agent_assignee_id=msg.agent_assignee_id,
        external_conversation_id=msg.external_conversation_id,
    )
    detail = f"{msg.agent_email or msg.origin} until {until.isoformat()}"
    fx.append(
        Journal(
            "contracts_agent_detection",
            "conversation_paused" if old is None else "conversation_pause_extended",
            detail,
        )
    )
    fx.append(Notify("conversation.paused", ConversationPaused(state.id, until)))
    return replace(state, pause=pause)


def pause_by_request(
    state: ConversationState, hours: float, by: str | None, now: datetime, fx: list[Effect]
) -> ConversationState:
    until = now + timedelta(hours=hours)
    fx.append(
        Journal(
            "manual_pause", "conversation_paused", f"by {by or 'api'} until {until.isoformat()}"
        )
    )
    fx.append(Notify("conversation.paused", ConversationPaused(state.id, until)))
    return replace(state, pause=Pause(until=until, paused_at=now, source="api", by=by))


def resume_by_request(
    state: ConversationState, by: str | None, fx: list[Effect]
) -> ConversationState:
    if state.pause is None:
        return state
    fx.append(Journal("manual_pause", "pause_removed", f"by {by or 'api'}"))
    fx.append(Notify("conversation.resumed", ConversationResumed(state.id, "removed")))
    return replace(state, pause=None)
