"""The events a conversation publishes after each commit: for the dashboards' real-time
feed and for the desk. Each carries the session it belongs to, as it stands after the step,
so that a feed can tell who may see it without asking anyone."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from storage.views import MessageView, SessionView

EventType = Literal[
    "session.created",
    "session.updated",
    "message.created",
    "message.updated",
    "queue.changed",
    "conversation.paused",
    "conversation.resumed",
]


class QueueChange(msgspec.Struct, frozen=True):
    session_id: str
    change: Literal["added", "removed"]


class ConversationPaused(msgspec.Struct, frozen=True):
    conversation_id: str
    until: datetime


class ConversationResumed(msgspec.Struct, frozen=True):
    conversation_id: str
    reason: Literal["expired", "removed"]


class MessageUpdate(msgspec.Struct, frozen=True):
    """An earlier message changed: a reaction (set, or removed when `emoji` is null), a
    deletion (`revoke`) or an edit (`text`)."""

    conversation_id: str
    provider_message_id: str
    change: Literal["reaction", "revoke", "edit"]
    by: str
    at: datetime
    emoji: str | None = None
    text: str | None = None


EventData = (
    SessionView
    | MessageView
    | MessageUpdate
    | QueueChange
    | ConversationPaused
    | ConversationResumed
)


class Event(msgspec.Struct, frozen=True):
    """`data` is what the feed sends; `session` says who may see it (None: supervisors)."""

    type: EventType
    data: EventData
    session: SessionView | None = None
