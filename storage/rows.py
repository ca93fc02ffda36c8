"""What the core hands to the store to write: plain rows, with datetimes and ids decided by
the core. The store knows no actor types."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from storage.views import Deadline, MessageView, PauseView, SessionView


class ConversationRow(msgspec.Struct, gc=False):
    """The conversation's projection columns, with its snapshot."""

    id: str
    business_id: str
    customer_id: str
    phone: str | None
    customer_name: str | None
    mode: str
    status: str
    paused_until: datetime | None
    flow_id: str | None
    node_id: str | None
    variables: dict[str, str]
    deadlines: list[Deadline]
    window_expires_at: datetime | None
    last_inbound_at: datetime | None
    last_activity_at: datetime | None
    next_wakeup_at: datetime | None
    archived_at: datetime | None
    new_messages: int  # added to the conversation's message count
    unread_count: int
    snapshot: bytes
    created_at: datetime
    closed_reason: str | None = None
    archive_reason: str | None = None


class MessageRow(msgspec.Struct, gc=False):
    """A new message: its view (id included), the provider's payload, whether processed."""

    view: MessageView
    payload: str | None = None
    processed: bool = True


class OutboxRow(msgspec.Struct, gc=False):
    """A send committed with the step that decided it; `message_id` is the message it
    delivers."""

    id: int
    conversation_id: str
    message_id: int | None
    recipient: str
    body: bytes
    text: str | None
    next_attempt_at: datetime
    created_at: datetime


class JournalRow(msgspec.Struct, gc=False):
    conversation_id: str | None
    at: datetime
    step_type: str
    status: str
    detail: str | None = None


class StatusRow(msgspec.Struct, gc=False):
    """A delivery status to merge into the message it is about."""

    provider_message_id: str
    status: str
    at: datetime
    outbox_id: int | None = None
    error_code: int | None = None
    error_detail: str | None = None


class AssignmentRow(msgspec.Struct, gc=False):
    """`chat_assignments`: `assigned` opens a row, `replied` stamps the first reply,
    `released` closes it with a reason."""

    session_id: str
    conversation_id: str
    operator_id: str
    event: str
    at: datetime
    reason: str | None = None


class Alias(msgspec.Struct, frozen=True, gc=False):
    """A key a customer is known by (`phone` or `bsuid`) that leads to a conversation."""

    business_id: str
    kind: str
    key: str
    conversation_id: str


class Annotation(msgspec.Struct, frozen=True, gc=False):
    """A change to an earlier message of the conversation, found by its provider id: a
    reaction set (`emoji`) or removed (no emoji), a deletion, or an edit (`text`)."""

    conversation_id: str
    provider_message_id: str
    change: str  # reaction | revoke | edit
    at: datetime
    by: str = "customer"
    emoji: str | None = None
    text: str | None = None


class StepCommit(msgspec.Struct):
    """Everything one actor step writes, in one transaction."""

    conversation: ConversationRow
    now: datetime
    messages: list[MessageRow] = msgspec.field(default_factory=list)
    outbox: list[OutboxRow] = msgspec.field(default_factory=list)
    journal: list[JournalRow] = msgspec.field(default_factory=list)
    pause: PauseView | None = None  # the pause set (or changed) by this step...
    pause_cleared: bool = False  # ...or the pause it lifted
    session: SessionView | None = None
    assignments: list[AssignmentRow] = msgspec.field(default_factory=list)
    annotations: list[Annotation] = msgspec.field(default_factory=list)
    aliases: list[Alias] = msgspec.field(default_factory=list)
    inbox_id: int = 0
    exists: bool = False  # the conversation row is known to be stored (a plain UPDATE will do)
    restore_archive: bool = False  # unarchived by this step: its messages come back first


class InboxRow(msgspec.Struct, gc=False):
    """A webhook event to store: for a conversation (`payload`), a delivery `status`, or
    nothing to do (`processed`), with the journal `note` of why it was ignored."""

    dedupe_key: str
    source: str
    kind: str
    conversation_id: str | None
    payload: bytes | None
    received_at: datetime
    processed: bool = False
    status: StatusRow | None = None
    note: JournalRow | None = None


class OperatorChange(msgspec.Struct, frozen=True):
    """What changes of an operator: each field set, or None to leave it."""

    operator_id: str
    name: str | None = None
    role: str | None = None
    active: bool | None = None
    token_hash: str | None = None


class NewOperator(msgspec.Struct, frozen=True):
    id: str
    name: str
    email: str
    role: str
    token_hash: str
    created_at: datetime


class MessageStatusChange(msgspec.Struct, frozen=True):
    """`POST /api/messages/status`: what changes of one message (None: unchanged)."""

    message_id: str
    read: bool | None = None
    processed: bool | None = None
    delivery_status: str | None = None


class MetadataChange(msgspec.Struct, frozen=True):
    """Tags, category, sentiment and custom fields merged into a message or conversation:
    `tags` are added (`remove_tags` taken away), `metadata` keys merged (a null value
    deletes its key), the others replaced when given."""

    tags: list[str] | None = None
    remove_tags: list[str] | None = None
    category: str | None = None
    sentiment: str | None = None
    metadata: dict[str, Any] | None = None
    auto_archive_after_days: int | None = None


class SyncRow(msgspec.Struct, frozen=True):
    """A chat's sync state, as the sync job leaves it."""

    entity_id: str
    sync_status: str
    at: datetime
    last_sync_at: datetime | None = None
    error_message: str | None = None
    retry_count: int = 0
    next_retry_at: datetime | None = None
    synced_count: int = 0
    entity_type: str = "chat"
