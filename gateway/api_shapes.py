"""The JSON shapes the handlers build as dicts, written down as Structs so that the OpenAPI
document can give them a schema (msgspec's, like every other). Nothing encodes these: the
fuzz test (tests/test_openapi_fuzz.py) checks every answer against them, so a handler that
drifts from its shape fails there."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

import msgspec

from storage.views import (
    AssignmentView,
    JournalEntry,
    OperatorStats,
    OperatorView,
    SessionView,
)

T = TypeVar("T")


class ErrorDetail(msgspec.Struct, frozen=True):
    code: str
    message: str
    field: str | None


class ErrorBody(msgspec.Struct, frozen=True):
    """Every error: the status, and what went wrong (`field`: a body path, a query
    parameter, a header, or null)."""

    error: ErrorDetail


class Refusal(msgspec.Struct, frozen=True):
    """A session command the conversation refused: the error, and the session when the
    caller may see it."""

    error: ErrorDetail
    session: SessionView | None = None


class Items(msgspec.Struct, Generic[T], frozen=True):
    """A whole list."""

    items: list[T]
    total: int


class Page(msgspec.Struct, Generic[T], frozen=True):
    """One page of a list (`limit`, `offset`)."""

    items: list[T]
    total: int
    limit: int
    offset: int


class ArchivePage(msgspec.Struct, Generic[T], frozen=True):
    """One page of a list paged by `page` (from 1) and `limit`."""

    items: list[T]
    total: int
    limit: int
    offset: int
    page: int


class InPeriod(msgspec.Struct, Generic[T], frozen=True):
    """A list over the last `hours`."""

    items: list[T]
    total: int
    hours: int


class SessionDetail(SessionView, frozen=True):
    """`GET /api/agent/sessions/{id}`: the session, who held it, and the customer's window."""

    assignments: list[AssignmentView]
    window_expires_at: datetime | None
    window_open: bool
    now: datetime


class StuckSession(SessionView, frozen=True):
    in_state_seconds: float


class OperatorStatus(OperatorView, frozen=True, kw_only=True):
    """An operator with the chats it holds now."""

    current_chats: list[str]
    current_chat: str | None
    state: Literal["busy", "free"]


class OperatorActivity(OperatorStats, frozen=True, kw_only=True):
    name: str | None


class OperatorToken(msgspec.Struct, frozen=True):
    """The operator and its token, shown only in this answer."""

    operator: OperatorView
    token: str


class Me(msgspec.Struct, frozen=True):
    id: str
    name: str
    role: Literal["agent", "supervisor", "admin"]
    operator: bool


class ChatStates(msgspec.Struct, frozen=True):
    waiting_assignment: int
    assigned: int
    waiting_real_user_reply: int
    completed: int


class QueueStats(msgspec.Struct, frozen=True):
    waiting: int
    oldest_wait_seconds: float
    avg_wait_seconds: float
    operators_busy: int
    operators_free: int


class Journey(msgspec.Struct, frozen=True):
    conversation_id: str
    items: list[JournalEntry]
    total: int


class StoredEvent(msgspec.Struct, frozen=True):
    """A stored webhook event, with the provider's payload as it came (`raw`)."""

    id: int
    dedupe_key: str
    source: str
    kind: str
    received_at: datetime
    processed_at: datetime | None
    attempts: int
    error: str | None
    raw: Any


class Removed(msgspec.Struct, frozen=True):
    removed: int


class Flow(msgspec.Struct, frozen=True):
    """A loaded flow: its nodes as its file has them (questions with `timeouts_in_force`),
    the timeout keys the file sets, and those in force once every layer is applied."""

    id: str
    description: str | None
    start: str
    default: bool
    nodes: list[dict[str, Any]]
    timeouts: dict[str, Any]
    timeouts_in_force: dict[str, Any]


class Flows(msgspec.Struct, frozen=True):
    items: list[Flow]
    default: str


class Skipped(msgspec.Struct, frozen=True):
    chat_id: str
    reason: str


class ArchiveResult(msgspec.Struct, frozen=True):
    archived: int
    messages: int
    bytes: int
    compressed: bool
    skipped: list[Skipped]


class Unarchived(msgspec.Struct, frozen=True):
    chat_id: str
    unarchived: bool
    restored: int


class SyncError(msgspec.Struct, frozen=True):
    chat_id: str
    error: str


class SyncResult(msgspec.Struct, frozen=True):
    synced_count: int
    errors: list[SyncError]
    sync_mode: Literal["incremental", "full"]
    chats: int
    skipped: str | None = None


class CleanupResult(msgspec.Struct, frozen=True):
    dry_run: bool
    deleted_archives: int
    archive_bytes: int
    orphans_removed: int
    orphan_messages: int
    orphan_journal: int
    orphan_outbox: int
    inbox_removed: int
    tables_optimized: bool
    file_bytes_before: int
    file_bytes_after: int
    space_freed_bytes: int
    space_freed_mb: float


class StatusFailure(msgspec.Struct, frozen=True):
    message_id: str
    reason: str


class StatusResult(msgspec.Struct, frozen=True):
    updated_count: int
    failed: list[StatusFailure]


class MessageMetadata(msgspec.Struct, frozen=True):
    message_id: str
    tags: list[str]
    category: str | None
    sentiment: str | None
    metadata: dict[str, Any]
    auto_archive_after_days: int | None = None


class ConversationMetadata(msgspec.Struct, frozen=True):
    conversation_id: str
    tags: list[str]
    category: str | None
    sentiment: str | None
    metadata: dict[str, Any]
    auto_archive_after_days: int | None = None


class MessageAnalysis(msgspec.Struct, frozen=True):
    message_id: str
    sentiment: str
    category: str
    tags: list[str]
    analyzer: str
    summary: str | None = None


class ClockAnswer(msgspec.Struct, frozen=True):
    mode: Literal["system", "virtual"]
    now: datetime


class Alert(msgspec.Struct, frozen=True):
    alert: str
    message: str


class InboxCountsAnswer(msgspec.Struct, frozen=True):
    total: int
    unprocessed: int


class Health(msgspec.Struct, frozen=True):
    """`/healthz`: `status` is `ok` while the writer and the timers run."""

    status: Literal["ok", "unavailable"]
    writer: Literal["running", "stopped"]
    timers: Literal["running", "stopped"]
    clock: Literal["system", "virtual"]
    now: datetime
    actors: int
    pending_timers: int
    writer_backlog: int
    inbox: InboxCountsAnswer
    parked_conversations: int
    outbox_in_flight: int
    provider: str
    warnings: list[str]
    alerts: list[Alert]
