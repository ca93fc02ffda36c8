"""The typed views the store answers with, and the projections a step writes.

Each is built in one place: by the core from a conversation's state (and written by the step's
commit as that conversation's projection), or by a backend from its tables. They carry
datetimes, never text; the HTTP edge turns them into JSON, and nothing else does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from storage.content import Content, MessageReaction, Referral

ChatState = Literal["waiting_assignment", "assigned", "waiting_real_user_reply", "completed"]
SessionStatus = Literal["waiting", "active", "ended"]
SenderType = Literal["customer", "bot", "agent", "system"]
Role = Literal["agent", "supervisor", "admin"]


class SessionView(msgspec.Struct, frozen=True, gc=False):
    """A live-agent session (API.md's session shape). `rev` counts its changes, so that a
    reader of two views can tell which is newer."""

    id: str
    conversation_id: str
    phone_number: str | None
    customer_name: str | None
    status: SessionStatus
    chat_state: ChatState
    agent_id: str | None
    last_operator_id: str | None
    started_by: Literal["customer", "api", "flow"]
    started_at: datetime
    accepted_at: datetime | None
    operator_replied_at: datetime | None
    expires_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    state_since: datetime
    rev: int


class MessageView(msgspec.Struct, frozen=True, gc=False):
    """One message of a conversation, in or out (API.md's message shape). `text` is always
    readable by a person (a summary for other types than text); `content` is the
    message's structure."""

    id: str
    conversation_id: str
    session_id: str | None
    direction: Literal["in", "out"]
    sender_type: SenderType
    sender_id: str | None
    kind: str
    text: str | None
    created_at: datetime
    status: str | None
    provider_message_id: str | None = None
    error_code: int | None = None
    error: str | None = None
    read_at: datetime | None = None
    content: Content | None = None
    reply_to: str | None = None
    forwarded: bool = False
    referral: Referral | None = None
    reactions: list[MessageReaction] = []
    edited_at: datetime | None = None
    previous_text: str | None = None
    deleted_at: datetime | None = None


class PauseView(msgspec.Struct, frozen=True, gc=False):
    """A conversation's bot pause (seed 000's `conversation_pauses`). `paused` is whether it
    holds at the instant the view was made; it is derived, never stored."""

    conversation_id: str
    phone_number: str | None
    paused: bool
    expires_at: datetime
    paused_at: datetime
    source: Literal["agent", "business_app", "api"]
    agent_email: str | None = None
    agent_name: str | None = None
    agent_assignee_id: str | None = None
    external_conversation_id: str | None = None
    by: str | None = None


class Deadline(msgspec.Struct, frozen=True, gc=False):
    """One timer of a conversation: what falls due, and when."""

    kind: str
    at: datetime


class FlowPositionView(msgspec.Struct, frozen=True, gc=False):
    flow_id: str
    node_id: str


class ConversationView(msgspec.Struct, frozen=True):
    """A conversation as the API shows it: its projection columns, its active pause and its
    open session."""

    id: str
    business_id: str
    customer_id: str
    phone_number: str | None
    customer_name: str | None
    mode: Literal["bot", "human"]
    status: Literal["open", "closed"]
    paused: bool
    pause: PauseView | None
    session: SessionView | None
    flow: FlowPositionView | None
    variables: dict[str, str]
    deadlines: list[Deadline]
    window_expires_at: datetime | None
    next_wakeup_at: datetime | None
    archived_at: datetime | None
    tags: list[str]
    category: str | None
    metadata: dict[str, Any]
    message_count: int
    unread_count: int
    last_activity_at: datetime | None
    created_at: datetime
    closed_reason: str | None = None


class JournalEntry(msgspec.Struct, frozen=True, gc=False):
    """One step of a conversation's message journey."""

    at: datetime
    step_type: str
    status: str
    detail: str | None


class OperatorView(msgspec.Struct, frozen=True, gc=False):
    id: str
    name: str
    email: str
    role: Role
    created_at: datetime
    active: bool = True


class AssignmentView(msgspec.Struct, frozen=True, gc=False):
    """One line of `chat_assignments`: an operator held the chat from `assigned_at`."""

    operator_id: str
    assigned_at: datetime
    first_reply_at: datetime | None
    released_at: datetime | None
    reason: str | None


class OperatorStats(msgspec.Struct, frozen=True, gc=False):
    """An operator's assignments in a period, and how fast it first replied."""

    operator_id: str
    total_assignments: int
    completed: int
    active: int
    replied: int
    avg_response_seconds: float | None
    max_response_seconds: float | None


class DueSend(msgspec.Struct, frozen=True, gc=False):
    """A send to make: its outbox row, and the message row it delivers."""

    id: int
    recipient: str
    body: bytes
    attempts: int = 0
    message_id: int | None = None


class InboxEvent(msgspec.Struct, frozen=True, gc=False):
    """A stored webhook event not yet processed by its conversation."""

    id: int
    conversation_id: str
    payload: bytes


class InboxCounts(msgspec.Struct, frozen=True):
    total: int
    unprocessed: int


class OutboxCounts(msgspec.Struct, frozen=True):
    pending: int = 0
    sent: int = 0
    failed: int = 0


class SessionFilter(msgspec.Struct, frozen=True):
    """`GET /api/agent/sessions/history`: `agent_id` matches any operator that handled the
    session; `search` is a substring of the phone or the name; `started_from` and
    `started_before` bound `started_at`. `readable_by` keeps only what that agent may read
    now (the gateway's `access.may_see` for a session it handled): not a live chat another
    operator holds, or answered last."""

    agent_id: str | None = None
    status: SessionStatus | None = None
    search: str | None = None
    started_from: datetime | None = None
    started_before: datetime | None = None
    readable_by: str | None = None


class ConversationFilter(msgspec.Struct, frozen=True):
    phone: str | None = None
    status: Literal["open", "closed"] | None = None
    mode: Literal["bot", "human"] | None = None
    tag: str | None = None
    archived: bool | None = None


class InboxRecord(msgspec.Struct, frozen=True):
    """A stored webhook event of a conversation, raw (`payload`: the core's encoding)."""

    id: int
    dedupe_key: str
    source: str
    kind: str
    received_at: datetime
    processed_at: datetime | None
    attempts: int
    error: str | None
    payload: bytes | None


class ArchiveView(msgspec.Struct, frozen=True, gc=False):
    """An archived conversation and what its archive holds."""

    conversation_id: str
    phone_number: str | None
    customer_name: str | None
    archived_at: datetime
    archive_reason: str | None
    message_count: int
    parts: int
    bytes: int
    compressed: bool
    first_part_at: datetime | None = None


class ArchiveCandidate(msgspec.Struct, frozen=True, gc=False):
    """A conversation an archive job takes, and which criterion made it due."""

    conversation_id: str
    reason: Literal["age", "inactivity", "completed"]


class CleanupReport(msgspec.Struct, frozen=True, gc=False):
    """What a retention cleanup removed (or, in a dry run, would remove)."""

    dry_run: bool
    deleted_archives: int
    archive_bytes: int
    orphan_messages: int
    orphan_journal: int
    orphan_outbox: int
    inbox_removed: int
    optimized: bool
    file_bytes_before: int
    file_bytes_after: int
    free_pages_before: int
    free_pages_after: int

    @property
    def space_freed_bytes(self) -> int:
        return max(0, self.file_bytes_before - self.file_bytes_after)


class DatabaseStats(msgspec.Struct, frozen=True, gc=False):
    """`GET /api/database/stats`."""

    tables: dict[str, int]
    file_bytes: int
    page_size: int
    page_count: int
    free_pages: int
    oldest_message_at: datetime | None
    newest_message_at: datetime | None
    archive_bytes: int
    archived_messages: int
    archived_conversations: int


SyncState = Literal["pending", "synced", "failed"]


class SyncStatusView(msgspec.Struct, frozen=True, gc=False):
    """A synced chat's state (seed 002's `sync_status`)."""

    entity_type: str
    entity_id: str
    sync_status: SyncState
    last_sync_at: datetime | None
    retry_count: int
    error_message: str | None
    next_retry_at: datetime | None
    synced_count: int
    updated_at: datetime


class JobState(msgspec.Struct, frozen=True, gc=False):
    """A scheduled job as last stored: when it runs next, how its last run went."""

    name: str
    next_run_at: datetime | None
    last_run_at: datetime | None
    last_result: dict[str, Any] | None
    last_duration_seconds: float | None
    last_error: str | None
    runs: int


class StatusBatch(msgspec.Struct, gc=False):
    """What a batch of message status changes did: the ids changed, those refused (id,
    reason), and per conversation how many customer messages became read."""

    updated: list[str] = msgspec.field(default_factory=list)
    failed: list[tuple[str, str]] = msgspec.field(default_factory=list)
    read: dict[str, int] = msgspec.field(default_factory=dict)


class ConversationRef(msgspec.Struct, frozen=True, gc=False):
    """Enough of a conversation to walk them all (sync, metadata)."""

    id: str
    business_id: str
    phone: str | None
    last_activity_at: datetime | None
    archived: bool


class MetadataView(msgspec.Struct, frozen=True, gc=False):
    """A message's or conversation's tags, category, sentiment and custom fields."""

    tags: list[str]
    category: str | None
    sentiment: str | None
    metadata: dict[str, Any]
    auto_archive_after_days: int | None = None
