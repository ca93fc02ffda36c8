"""The typed views of a conversation's state, built here and nowhere else: the answers to
asks, the projections a step commits, and the data of real-time events."""

from __future__ import annotations

from datetime import datetime

from actors.conversation.state import ConversationState, Pause, Session
from storage.views import PauseView, SessionView


def session_view(state: ConversationState, session: Session) -> SessionView:
    return SessionView(
        id=session.id,
        conversation_id=state.id,
        phone_number=state.phone,
        customer_name=state.customer_name,
        status=session.status,
        chat_state=session.chat_state,
        agent_id=session.agent_id,
        last_operator_id=session.last_operator_id,
        started_by=session.started_by,
        started_at=session.started_at,
        accepted_at=session.accepted_at,
        operator_replied_at=session.operator_replied_at,
        expires_at=session.expires_at,
        ended_at=session.ended_at,
        end_reason=session.end_reason,
        state_since=session.since,
        rev=session.rev,
    )


def pause_view(state: ConversationState, pause: Pause, now: datetime) -> PauseView:
    return PauseView(
        conversation_id=state.id,
        phone_number=state.phone or state.customer_id,
        paused=now < pause.until,
        expires_at=pause.until,
        paused_at=pause.paused_at,
        source=pause.source,
        agent_email=pause.agent_email,
        agent_name=pause.agent_name,
        agent_assignee_id=pause.agent_assignee_id,
        external_conversation_id=pause.external_conversation_id,
        by=pause.by,
    )
