"""Plain rows the core hands to storage: storage knows no actor types."""

from __future__ import annotations

import msgspec


class ConversationRow(msgspec.Struct):
    id: str
    business_id: str
    customer_id: str
    phone: str | None
    customer_name: str | None
    mode: str
    status: str
    paused_until: str | None
    flow_id: str | None
    node_id: str | None
    last_inbound_at: str | None
    last_activity_at: str | None
    next_wakeup_at: float | None
    archived_at: str | None
    message_count: int
    unread_count: int
    snapshot: bytes
    created_at: str
    updated_at: str


class MessageRow(msgspec.Struct):
    conversation_id: str
    direction: str
    sender_type: str
    kind: str
    text: str | None
    created_at: str
    sender_id: str | None = None
    payload: str | None = None
    provider_message_id: str | None = None
    delivery_status: str | None = None
    processed: int = 0
    session_id: str | None = None


class OutboxRow(msgspec.Struct):
    """A send; `message_index` points into the same commit's messages (-1: none)."""

    conversation_id: str
    recipient: str
    body: bytes
    text: str | None
    next_attempt_at: float
    created_at: str
    message_index: int = -1


class JournalRow(msgspec.Struct):
    conversation_id: str | None
    at: str
    step_type: str
    status: str
    detail: str | None = None


class PauseRow(msgspec.Struct):
    """The `conversation_pauses` projection of a conversation's pause."""

    conversation_id: str
    phone_number: str
    expires_at: str
    paused_at: str
    is_active: int
    agent_assignee_id: str | None = None
    agent_email: str | None = None
    agent_name: str | None = None
    external_conversation_id: str | None = None
    source: str | None = None


class StatusRow(msgspec.Struct):
    """A delivery status to merge into the message it is about."""

    provider_message_id: str
    status: str
    at: str
    outbox_id: int | None = None
    error_code: int | None = None
    error_detail: str | None = None


class SessionRow(msgspec.Struct):
    """The `agent_sessions` projection of a conversation's session."""

    id: str
    conversation_id: str
    phone_number: str | None
    customer_name: str | None
    status: str
    chat_state: str
    agent_id: str | None
    last_operator_id: str | None
    started_by: str
    started_at: str
    accepted_at: str | None
    operator_replied_at: str | None
    expires_at: str
    ended_at: str | None
    end_reason: str | None
    state_since: str
    updated_at: str


class AssignmentRow(msgspec.Struct):
    """`chat_assignments`: `assigned` opens a row, `replied` stamps the first reply,
    `released` closes it with a reason."""

    session_id: str
    conversation_id: str
    operator_id: str
    event: str
    at: str
    reason: str | None = None


class StepCommit(msgspec.Struct):
    """Everything one actor step writes, in one transaction."""

    conversation: ConversationRow
    now: str
    messages: list[MessageRow] = msgspec.field(default_factory=list)
    outbox: list[OutboxRow] = msgspec.field(default_factory=list)
    journal: list[JournalRow] = msgspec.field(default_factory=list)
    pause: PauseRow | None = None
    session: SessionRow | None = None
    assignments: list[AssignmentRow] = msgspec.field(default_factory=list)
    inbox_id: int = 0
    exists: bool = False  # the conversation row is known to be stored (a plain UPDATE will do)


class InboxRow(msgspec.Struct):
    dedupe_key: str
    source: str
    kind: str
    conversation_id: str | None
    payload: bytes | None
    received_at: str
    processed: bool = False
    status: StatusRow | None = None
