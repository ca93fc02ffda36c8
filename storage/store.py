"""The `Store` protocol: every operation the core and the HTTP edge ask of storage, by name.

Nothing outside `storage/` sees a connection, a cursor, SQL or a backend's error text: the
core hands rows (`storage.rows`) and gets views (`storage.views`) and the named errors
below. A backend is "make the contract suite pass" (`tests/test_store_contract.py`).

Writes resolve once they are durable (committed); a backend may group them (SQLite's one
writer commits everything queued in one transaction). Ids of the rows a step creates are
decided by the core when it builds the commit, from `next_message_id` and
`next_outbox_id`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from storage.rows import (
    Alias,
    InboxRow,
    MessageRow,
    MessageStatusChange,
    MetadataChange,
    NewOperator,
    OperatorChange,
    StepCommit,
    SyncRow,
)
from storage.views import (
    ArchiveCandidate,
    ArchiveView,
    AssignmentView,
    CleanupReport,
    ConversationFilter,
    ConversationRef,
    ConversationView,
    DatabaseStats,
    DueSend,
    InboxCounts,
    InboxEvent,
    InboxRecord,
    JobState,
    JournalEntry,
    MessageView,
    MetadataView,
    OperatorStats,
    OperatorView,
    OutboxCounts,
    PauseView,
    SessionFilter,
    SessionView,
    StatusBatch,
    SyncStatusView,
)

ARCHIVE_CHUNK = 1000  # messages moved into an archive per write


class StoreError(Exception):
    """Base of the store's named errors."""


class StoreClosed(StoreError):
    """The store was stopped; no more writes are accepted."""


class StoreUnavailable(StoreError):
    """The database refused a write for a reason that passes (the disk is full, another
    connection holds the lock, an I/O error): nothing of that write was kept. Try again
    later; a webhook is answered 503 so that its sender does."""


class EmailTaken(StoreError):
    """An operator with this e-mail exists already."""


class WriteStats(Protocol):
    """How the store's writes have gone (for `/metrics`)."""

    @property
    def batches(self) -> int: ...

    @property
    def writes(self) -> int: ...

    @property
    def largest_batch(self) -> int: ...


class Store(Protocol):
    # --- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        """Open (creating and migrating as needed)."""

    async def stop(self) -> None:
        """Refuse new writes, make the queued ones durable, close."""

    @property
    def running(self) -> bool: ...

    @property
    def idle(self) -> bool:
        """No write queued or in progress."""

    async def wait_idle(self) -> None: ...

    @property
    def backlog(self) -> int:
        """Writes queued, not yet committed."""

    @property
    def stats(self) -> WriteStats: ...

    # --- ids --------------------------------------------------------------------------
    def next_message_id(self) -> int:
        """A fresh message id, never given before (ids grow with time)."""

    def next_outbox_id(self) -> int:
        """A fresh outbox id, never given before."""

    # --- the core's writes ------------------------------------------------------------
    async def commit_step(self, commit: StepCommit) -> None:
        """Snapshot and projections, messages, outbox, journal, pause, session and
        assignment history of one step, and its inbox event marked processed."""

    async def insert_inbox(
        self, rows: list[InboxRow], links: list[Alias] | None = None
    ) -> list[int | None]:
        """Store webhook events; a duplicate dedupe key gives None in its place and writes
        nothing. A row's status is merged into its message and its note journaled (only
        when the row is new). `links`: customer keys learnt from the events, stored with
        them."""

    async def mark_inbox_failed(self, inbox_id: int, error: str) -> None:
        """Processing the event failed: count the attempt and keep the error."""

    async def mark_sent(self, send: DueSend, provider_message_id: str, at: datetime) -> None: ...

    async def mark_retry(
        self,
        outbox_id: int,
        next_attempt_at: datetime,
        code: int | None,
        detail: str,
        at: datetime,
    ) -> None: ...

    async def mark_send_failed(
        self, send: DueSend, code: int | None, detail: str, at: datetime
    ) -> None:
        """Given up: the outbox row and its message are failed, and it is journaled."""

    async def mark_attempting(self, outbox_ids: list[int], at: datetime) -> None:
        """These sends' requests are about to leave: committed before they do, so that a
        crash leaves them recognisable as maybe sent."""

    async def defer_unconfirmed(self, until: datetime) -> list[tuple[int, str]]:
        """At start-up: pending sends still marked as attempting were in flight when the
        process died; they are not due before `until` (a status webhook naming one in the
        meantime confirms it). Returns their (outbox id, recipient), oldest first."""

    async def put_value(self, key: str, value: str) -> None:
        """A process-wide fact (the virtual clock's time, the event epoch)."""

    async def create_operator(self, operator: NewOperator) -> None:
        """Raises EmailTaken when the e-mail is in use."""

    # --- the core's reads -------------------------------------------------------------
    async def change_operator(self, change: OperatorChange) -> None:
        """Its name, role, active flag or token hash (what the change sets)."""

    async def get_value(self, key: str) -> str | None: ...

    async def load_snapshots(self, conversation_ids: list[str]) -> dict[str, bytes]:
        """The snapshots of those conversations that exist."""

    async def wakeups(self) -> list[tuple[str, datetime]]:
        """Every conversation's next deadline, to rebuild the timer heap."""

    async def unprocessed_inbox(
        self,
        max_attempts: int,
        conversation_id: str | None = None,
        after_id: int = 0,
        limit: int | None = None,
    ) -> list[InboxEvent]:
        """Events stored but not processed (and failed fewer than `max_attempts` times),
        oldest first; of one conversation, after `after_id`, when given."""

    async def due_sends(self, now: datetime, limit: int) -> list[DueSend]:
        """Pending sends whose time has come, oldest first."""

    async def next_send_attempt(self, after: datetime) -> datetime | None:
        """The earliest retry time later than `after`."""

    async def is_own_send(
        self,
        provider_ids: list[str],
        outbox_ids: list[int],
        recipient: str | None,
        text: str | None,
        since: datetime,
    ) -> bool:
        """Whether an outbound event echoes a send of ours: it names one of our outbox rows
        (to that recipient), or an id a send returned, or the same text went to the same
        recipient since `since`."""

    async def aliases(self, kind: str) -> list[Alias]:
        """Every stored alias of that kind (`phone`, `bsuid`)."""

    async def alias(self, business_id: str, kind: str, key: str) -> str | None:
        """The conversation a customer key leads to, when it was linked to one."""

    async def inbox_events(
        self, conversation_id: str, limit: int, offset: int
    ) -> tuple[list[InboxRecord], int]:
        """A conversation's stored webhook events, raw, newest first."""

    # --- operators --------------------------------------------------------------------
    async def operator_by_token(self, token_hash: str) -> OperatorView | None:
        """The active operator with this token hash."""

    async def operator(self, operator_id: str) -> OperatorView | None: ...

    async def operators(self) -> list[OperatorView]: ...

    # --- sessions ---------------------------------------------------------------------
    async def session(self, session_id: str) -> SessionView | None: ...

    async def waiting_sessions(self) -> list[SessionView]:
        """The queue, oldest first."""

    async def open_sessions(self) -> list[SessionView]: ...

    async def sessions_held_by(self, operator_id: str) -> list[SessionView]: ...

    async def session_history(
        self, where: SessionFilter, limit: int, offset: int
    ) -> tuple[list[SessionView], int]:
        """Newest first, with the total that match."""

    async def chat_state_counts(self) -> dict[str, int]: ...

    async def stuck_sessions(self, before: datetime) -> list[SessionView]:
        """Open sessions in one chat_state since before `before`."""

    async def operator_stats(self, since: datetime) -> list[OperatorStats]: ...

    async def assignments(self, session_id: str) -> list[AssignmentView]: ...

    # --- conversations ----------------------------------------------------------------
    async def conversation(self, conversation_id: str, now: datetime) -> ConversationView | None:
        """`now` says whether its pause still holds."""

    async def conversations(
        self, where: ConversationFilter, limit: int, offset: int, now: datetime
    ) -> tuple[list[ConversationView], int]:
        """Most recently active first, with the total that match."""

    async def messages(
        self, conversation_id: str, limit: int, offset: int
    ) -> tuple[list[MessageView], int]:
        """Oldest first, with the total."""

    async def session_messages(self, session_id: str) -> list[MessageView]: ...

    async def messages_before(
        self, conversation_id: str, until: datetime, limit: int
    ) -> list[MessageView]:
        """The last `limit` messages outside any session, up to `until`, oldest first."""

    async def message(self, message_id: str) -> MessageView | None: ...

    async def journey(self, conversation_id: str) -> list[JournalEntry]: ...

    async def active_pauses(
        self, now: datetime, limit: int, offset: int
    ) -> tuple[list[PauseView], int]:
        """Pauses that hold at `now`, soonest to end first."""

    async def expired_pauses(self, now: datetime) -> list[str]:
        """Conversations whose pause ran out but is still recorded as active."""

    # --- maintenance (seed 002) ---------------------------------------------------------
    async def archive_candidates(
        self, now: datetime, age_days: float, inactive_days: float, completed: bool, limit: int
    ) -> list[ArchiveCandidate]:
        """Conversations due for archiving (none with an open session), and why: older than
        their own `auto_archive_after_days` or `age_days`, inactive for `inactive_days`, or
        closed (`completed`). 0 turns a criterion off."""

    async def archive_chunk(
        self, conversation_id: str, compress: bool, now: datetime
    ) -> tuple[int, int]:
        """Move the oldest 1000 messages of an archived conversation into its archive:
        (messages moved, bytes stored); (0, 0) when it is not archived or has none left. An
        unarchive (a step with `restore_archive`) brings every one back, exactly."""

    async def archives(self, limit: int, offset: int) -> tuple[list[ArchiveView], int]:
        """Archived conversations, most recently archived first, with the total."""

    async def cleanup(
        self,
        *,
        archive_before: datetime | None,
        inbox_before: datetime | None,
        remove_orphans: bool,
        optimize: bool,
        dry_run: bool,
    ) -> CleanupReport:
        """Remove archives from before `archive_before`, orphaned rows, processed inbox rows
        from before `inbox_before`, in short writes; then refresh the statistics and give
        free pages back. A dry run only counts."""

    async def database_stats(self) -> DatabaseStats: ...

    async def merge_message_metadata(
        self, message_id: str, change: MetadataChange
    ) -> MetadataView | None:
        """The merged metadata; None when there is no such message."""

    async def merge_conversation_metadata(
        self, conversation_id: str, change: MetadataChange
    ) -> MetadataView | None:
        """The merged metadata; None when there is no such conversation."""

    async def update_message_statuses(
        self, changes: list[MessageStatusChange], now: datetime
    ) -> StatusBatch:
        """Read, processed and delivery status of messages (statuses only move forward)."""

    async def import_history(
        self, conversation_id: str, rows: list[MessageRow], now: datetime
    ) -> tuple[int, int]:
        """The provider's messages of a conversation: those not stored (by provider id) are
        inserted with new ids, changed ones updated; (inserted, updated)."""

    async def save_sync_status(self, row: SyncRow) -> None: ...

    async def sync_statuses(
        self, entity_id: str | None, limit: int, offset: int
    ) -> tuple[list[SyncStatusView], int]: ...

    async def save_job(self, job: JobState, now: datetime) -> None: ...

    async def jobs(self) -> list[JobState]: ...

    async def conversation_refs(self, after: str, limit: int) -> list[ConversationRef]:
        """Conversations in id order after `after` (to walk them all)."""

    async def unanalyzed_messages(self, after_id: int, limit: int) -> list[MessageView]:
        """Customer messages with text and no sentiment yet, in id order after `after_id`."""

    # --- health -----------------------------------------------------------------------
    async def inbox_counts(self) -> InboxCounts: ...

    async def outbox_counts(self) -> OutboxCounts: ...
