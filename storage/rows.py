"""What the core hands to the store to write: plain rows, with datetimes and ids decided by
the core. The store knows no actor types."""

from __future__ import annotations

from datetime import datetime

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
