"""Turns one step (old state, new state, effects) into what the shell does with it: the rows
of one commit, the sends for the sender, the events to publish and the answer to the ask.

Every effect becomes rows here and nowhere else; the `match` is exhaustive, so an effect
that is added and not handled is a type error. The ids of the rows a step creates are
decided here, from the store's id source, before anything is written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, assert_never

import msgspec

from actors.conversation.effects import (
    Annotate,
    AssignmentLog,
    Effect,
    Journal,
    Link,
    Notify,
    Record,
    Reply,
    Send,
)
from actors.conversation.events import Event, MessageUpdate, QueueChange
from actors.conversation.outcome import Outcome
from actors.conversation.state import ConversationState, Session, encode_state
from actors.conversation.step import earliest
from actors.conversation.views import pause_view, session_view
from actors.outbox.outbound import OutboundMessage, encode_outbound
from actors.runtime.codec import json_encoder
from storage.content import Text
from storage.rows import (
    Alias,
    Annotation,
    AssignmentRow,
    ConversationRow,
    JournalRow,
    MessageRow,
    OutboxRow,
    StepCommit,
)
from storage.views import Deadline, DueSend, MessageView, SessionView

_json = json_encoder()


class Ids(Protocol):
    """Where fresh row ids come from (the store)."""

    def next_message_id(self) -> int: ...

    def next_outbox_id(self) -> int: ...


class Built(msgspec.Struct):
    commit: StepCommit
    sends: list[DueSend]
    events: list[Event]
    reply: Any


def build(
    old: ConversationState | None,
    new: ConversationState,
    effects: list[Effect],
    now: datetime,
    deadlines: list[Deadline],
    inbox_id: int,
    ids: Ids,
) -> Built:
    cid = new.id
    wakeup = earliest(deadlines)
    commit = StepCommit(
        conversation=conversation_row(new, deadlines, wakeup),
        now=now,
        inbox_id=inbox_id,
        exists=old is not None,
    )
    built = Built(commit, [], [], None)
    audience = _Audience(new)
    made: list[tuple[Send, MessageView]] = []
    for effect in effects:
        match effect:
            case Send():
                view = _message(ids, new, effect, now)
                made.append((effect, view))
                commit.messages.append(MessageRow(view, _choices_json(effect)))
                send = _outbox_row(ids, new, effect, int(view.id), now)
                commit.outbox.append(send)
                built.sends.append(DueSend(send.id, send.recipient, send.body, 0, send.message_id))
                built.events.append(Event("message.created", view, audience.of(view.session_id)))
            case Record():
                view = _recorded(ids, new, effect, now)
                payload = None if effect.payload is None else _json.encode(effect.payload).decode()
                commit.messages.append(MessageRow(view, payload, effect.processed))
                built.events.append(Event("message.created", view, audience.of(view.session_id)))
            case Annotate():
                change = Annotation(
                    cid,
                    effect.provider_message_id,
                    effect.change,
                    now,
                    effect.by,
                    effect.emoji,
                    effect.text,
                )
                commit.annotations.append(change)
                update = MessageUpdate(
                    cid,
                    effect.provider_message_id,
                    effect.change,
                    effect.by,
                    now,
                    effect.emoji,
                    effect.text,
                )
                current = new.session.id if new.session is not None else None
                built.events.append(Event("message.updated", update, audience.of(current)))
            case Link():
                commit.aliases.append(Alias(new.business_id, effect.kind, effect.key, cid))
            case AssignmentLog():
                commit.assignments.append(
                    AssignmentRow(
                        effect.session_id, cid, effect.operator_id, effect.event, now, effect.reason
                    )
                )
            case Journal():
                commit.journal.append(
                    JournalRow(cid, now, effect.step_type, effect.status, effect.detail)
                )
            case Notify():
                data = effect.data
                if isinstance(data, SessionView):
                    session: SessionView | None = data
                elif isinstance(data, QueueChange):
                    session = audience.of(data.session_id)
                else:
                    session = None
                built.events.append(Event(effect.type, data, session))
            case Reply():
                built.reply = _answer(effect, made)
            case _:
                assert_never(effect)
    old_pause = old.pause if old is not None else None
    if new.pause != old_pause:
        if new.pause is not None:
            commit.pause = pause_view(new, new.pause, now)
        else:
            commit.pause_cleared = True
    commit.session = _session_change(old, new)
    commit.restore_archive = (
        old is not None and old.archived_at is not None and new.archived_at is None
    )
    commit.conversation.new_messages = len(commit.messages)
    return built


class _Audience:
    """The sessions of the new state, as views: who may see each event of the step."""

    def __init__(self, state: ConversationState) -> None:
        self._state = state
        self._views: dict[str, SessionView] = {}

    def of(self, session_id: str | None) -> SessionView | None:
        if session_id is None:
            return None
        if session_id not in self._views:
            state = self._state
            for session in (state.session, state.last_session):
                if session is not None and session.id == session_id:
                    self._views[session_id] = session_view(state, session)
        return self._views.get(session_id)


def _answer(reply: Reply, made: list[tuple[Send, MessageView]]) -> Any:
    """The ask's answer; an outcome that sent a message carries that message's view."""
    value = reply.value
    if reply.sent is not None and isinstance(value, Outcome):
        for send, view in made:
            if send is reply.sent:
                return msgspec.structs.replace(value, sent=view)
    return value


def _message(ids: Ids, state: ConversationState, send: Send, now: datetime) -> MessageView:
    return MessageView(
        id=str(ids.next_message_id()),
        conversation_id=state.id,
        session_id=send.session_id,
        direction="out",
        sender_type=send.sender_type,
        sender_id=send.sender_id,
        kind=send.kind,
        text=send.text,
        created_at=now,
        status="pending",
        content=Text(body=send.text),
    )


def _recorded(ids: Ids, state: ConversationState, record: Record, now: datetime) -> MessageView:
    return MessageView(
        id=str(ids.next_message_id()),
        conversation_id=state.id,
        session_id=record.session_id,
        direction=record.direction,
        sender_type=record.sender_type,
        sender_id=record.sender_id,
        kind=record.kind,
        text=record.text,
        created_at=now,
        status=record.delivery_status,
        provider_message_id=record.provider_message_id,
        content=record.content,
        reply_to=record.reply_to,
        forwarded=record.forwarded,
        referral=record.referral,
    )


def _outbox_row(
    ids: Ids, state: ConversationState, send: Send, message_id: int, now: datetime
) -> OutboxRow:
    outbox_id = ids.next_outbox_id()
    recipient = state.phone or state.customer_id
    body = OutboundMessage(
        business_id=state.business_id,
        to=recipient,
        text=send.text,
        kind=send.kind,
        choices=send.choices,
        header=send.header,
        footer=send.footer,
        list_button=send.list_button,
        conversation_id=state.id,
        outbox_id=outbox_id,
        template=send.template,
    )
    return OutboxRow(
        id=outbox_id,
        conversation_id=state.id,
        message_id=message_id,
        recipient=recipient,
        body=encode_outbound(body),
        text=send.text,
        next_attempt_at=now,
        created_at=now,
    )


def _session_change(old: ConversationState | None, new: ConversationState) -> SessionView | None:
    """The session projection to write: the open one if it changed, or the one that just
    ended."""
    before: Session | None = old.session if old is not None else None
    if new.session is not None:
        return None if new.session == before else session_view(new, new.session)
    if before is not None and new.last_session is not None:
        return session_view(new, new.last_session)
    return None


def conversation_row(
    state: ConversationState, deadlines: list[Deadline], wakeup: datetime | None
) -> ConversationRow:
    flow = state.flow
    return ConversationRow(
        id=state.id,
        business_id=state.business_id,
        customer_id=state.customer_id,
        phone=state.phone,
        customer_name=state.customer_name,
        mode=state.mode,
        status=state.status,
        paused_until=None if state.pause is None else state.pause.until,
        flow_id=None if flow is None else flow.flow_id,
        node_id=None if flow is None else flow.node_id,
        variables=state.variables,
        deadlines=deadlines,
        window_expires_at=state.window_expires_at,
        last_inbound_at=state.last_inbound_at,
        last_activity_at=state.last_activity_at,
        next_wakeup_at=wakeup,
        archived_at=state.archived_at,
        new_messages=0,
        unread_count=state.unread_count,
        snapshot=encode_state(state),
        created_at=state.created_at,
        closed_reason=state.closed_reason,
        archive_reason=state.archive_reason,
    )


def _choices_json(send: Send) -> str | None:
    if not send.choices:
        return None
    return _json.encode({"choices": send.choices, "header": send.header}).decode()
