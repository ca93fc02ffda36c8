"""Turns one step's outcome (old state, new state, effects) into the rows of one commit."""

from __future__ import annotations

from datetime import datetime

from actors.conversation.effects import AssignmentLog, Effect, Journal, Record, Send
from actors.conversation.sessions import STATUS_OF
from actors.conversation.state import ConversationState, Pause, Session, encode_state
from actors.outbox.outbound import OutboundMessage, encode_outbound
from actors.runtime.codec import json_encoder
from storage.rows import (
    AssignmentRow,
    ConversationRow,
    JournalRow,
    MessageRow,
    OutboxRow,
    PauseRow,
    SessionRow,
    StepCommit,
)
from storage.timefmt import iso, iso_or_none

_json = json_encoder()


def build_commit(
    old: ConversationState | None,
    new: ConversationState,
    effects: list[Effect],
    now: datetime,
    wakeup: datetime | None,
    inbox_id: int,
) -> StepCommit:
    at = iso(now)
    cid = new.id
    commit = StepCommit(
        conversation=conversation_row(new, wakeup, at),
        now=at,
        inbox_id=inbox_id,
        exists=old is not None,
    )
    for effect in effects:
        match effect:
            case Send():
                commit.messages.append(
                    MessageRow(
                        conversation_id=cid,
                        direction="out",
                        sender_type=effect.sender_type,
                        sender_id=effect.sender_id,
                        kind=effect.kind,
                        text=effect.text,
                        created_at=at,
                        delivery_status="pending",
                        processed=1,
                        payload=_choices_json(effect),
                        session_id=effect.session_id,
                    )
                )
                commit.outbox.append(
                    OutboxRow(
                        conversation_id=cid,
                        recipient=new.phone or new.customer_id,
                        body=encode_outbound(outbound(new, effect)),
                        text=effect.text,
                        next_attempt_at=now.timestamp(),
                        created_at=at,
                        message_index=len(commit.messages) - 1,
                    )
                )
            case Record():
                commit.messages.append(
                    MessageRow(
                        conversation_id=cid,
                        direction=effect.direction,
                        sender_type=effect.sender_type,
                        sender_id=effect.sender_id,
                        kind=effect.kind,
                        text=effect.text,
                        created_at=at,
                        provider_message_id=effect.provider_message_id,
                        delivery_status=effect.delivery_status,
                        processed=int(effect.processed),
                        payload=None
                        if effect.payload is None
                        else _json.encode(effect.payload).decode(),
                        session_id=effect.session_id,
                    )
                )
            case AssignmentLog():
                commit.assignments.append(
                    AssignmentRow(
                        effect.session_id, cid, effect.operator_id, effect.event, at, effect.reason
                    )
                )
            case Journal():
                commit.journal.append(
                    JournalRow(cid, at, effect.step_type, effect.status, effect.detail)
                )
            case _:
                pass
    old_pause = old.pause if old is not None else None
    if new.pause != old_pause:
        commit.pause = pause_row(new, new.pause or old_pause, active=new.pause is not None)
    commit.session = _session_change(old, new, at)
    return commit


def _session_change(
    old: ConversationState | None, new: ConversationState, at: str
) -> SessionRow | None:
    """The session row to write: the open one if it changed, or the one that just ended."""
    before = old.session if old is not None else None
    if new.session is not None:
        return None if new.session == before else session_row(new, new.session, at)
    if before is not None and new.last_session is not None:
        return session_row(new, new.last_session, at)
    return None


def session_row(state: ConversationState, session: Session, at: str) -> SessionRow:
    return SessionRow(
        id=session.id,
        conversation_id=state.id,
        phone_number=state.phone,
        customer_name=state.customer_name,
        status=STATUS_OF[session.chat_state],
        chat_state=session.chat_state,
        agent_id=session.agent_id,
        last_operator_id=session.last_operator_id,
        started_by=session.started_by,
        started_at=iso(session.started_at),
        accepted_at=iso_or_none(session.accepted_at),
        operator_replied_at=iso_or_none(session.operator_replied_at),
        expires_at=iso(session.expires_at),
        ended_at=iso_or_none(session.ended_at),
        end_reason=session.end_reason,
        state_since=iso(session.since),
        updated_at=at,
    )


def outbound(state: ConversationState, send: Send) -> OutboundMessage:
    return OutboundMessage(
        business_id=state.business_id,
        to=state.phone or state.customer_id,
        text=send.text,
        kind=send.kind,
        choices=send.choices,
        header=send.header,
        footer=send.footer,
        list_button=send.list_button,
        conversation_id=state.id,
    )


def conversation_row(state: ConversationState, wakeup: datetime | None, at: str) -> ConversationRow:
    return ConversationRow(
        id=state.id,
        business_id=state.business_id,
        customer_id=state.customer_id,
        phone=state.phone,
        customer_name=state.customer_name,
        mode=state.mode,
        status=state.status,
        paused_until=None if state.pause is None else iso(state.pause.until),
        flow_id=None if state.flow is None else state.flow.flow_id,
        node_id=None if state.flow is None else state.flow.node_id,
        last_inbound_at=iso_or_none(state.last_inbound_at),
        last_activity_at=iso_or_none(state.last_activity_at),
        next_wakeup_at=None if wakeup is None else wakeup.timestamp(),
        archived_at=iso_or_none(state.archived_at),
        message_count=state.message_count,
        unread_count=state.unread_count,
        snapshot=encode_state(state),
        created_at=iso(state.created_at),
        updated_at=at,
    )


def pause_row(state: ConversationState, pause: Pause | None, active: bool) -> PauseRow | None:
    if pause is None:
        return None
    return PauseRow(
        conversation_id=state.id,
        phone_number=state.phone or state.customer_id,
        expires_at=iso(pause.until),
        paused_at=iso(pause.paused_at),
        is_active=int(active),
        agent_assignee_id=pause.agent_assignee_id,
        agent_email=pause.agent_email,
        agent_name=pause.agent_name,
        external_conversation_id=pause.external_conversation_id,
        source=pause.source,
    )


def _choices_json(send: Send) -> str | None:
    if not send.choices:
        return None
    return _json.encode({"choices": send.choices, "header": send.header}).decode()
