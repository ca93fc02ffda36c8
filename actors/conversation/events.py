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


class Event(msgspec.Struct, frozen=True):
    """`data` is what the feed sends; `session` says who may see it (None: supervisors)."""

    type: EventType
    data: SessionView | MessageView | QueueChange | ConversationPaused | ConversationResumed
    session: SessionView | None = None
