"""The SQLite backend of the `Store` protocol: one writer thread with group commit, one
read-only connection, and the SQL of each table in its own module."""

from __future__ import annotations

import itertools
from datetime import datetime
from functools import partial
from typing import Literal

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
from storage.sqlite import (
    aliases,
    archives,
    conversations,
    inbox,
    journal,
    kv,
    maintenance,
    messages,
    operators,
    outbox,
    pauses,
    sessions,
    upkeep,
)
from storage.sqlite.reader import Reader
from storage.sqlite.timefmt import iso
from storage.sqlite.writer import Writer, WriterStats
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


class SqliteStore:
    """The embedded default: a file in WAL mode (`path`), migrated at start."""

    def __init__(
        self,
        path: str,
        *,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        max_batch: int = 2000,
    ) -> None:
        self.path = path
        self._writer = Writer(path, synchronous=synchronous, max_batch=max_batch)
        self._reader = Reader(path)
        # Only this process writes the file, so ids are handed out from memory, counted on
        # from the largest stored at start.
        self._message_ids = itertools.count(1)
        self._outbox_ids = itertools.count(1)

    # --- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        await self._writer.start()
        await self._reader.open()
        last_message = await self._writer.submit(messages.max_id)
        last_send = await self._writer.submit(outbox.max_id)
        self._message_ids = itertools.count(last_message + 1)
        self._outbox_ids = itertools.count(last_send + 1)

    async def stop(self) -> None:
        await self._reader.close()  # first: a checkpoint waits for no reader
        await self._writer.stop()

    @property
    def running(self) -> bool:
        return self._writer.running

    @property
    def idle(self) -> bool:
        return self._writer.idle

    async def wait_idle(self) -> None:
        await self._writer.wait_idle()

    @property
    def backlog(self) -> int:
        return self._writer.backlog

    @property
    def stats(self) -> WriterStats:
        return self._writer.stats

    # --- ids --------------------------------------------------------------------------
    def next_message_id(self) -> int:
        return next(self._message_ids)

    def next_outbox_id(self) -> int:
        return next(self._outbox_ids)

    # --- the core's writes ------------------------------------------------------------
    async def commit_step(self, commit: StepCommit) -> None:
        await self._writer.submit(partial(conversations.commit_step, commit=commit))

    async def insert_inbox(
        self, rows: list[InboxRow], links: list[Alias] | None = None
    ) -> list[int | None]:
        now = iso(rows[0].received_at) if rows else ""
        return await self._writer.submit(
            partial(inbox.insert, rows=rows, links=links or [], now=now)
        )

    async def mark_inbox_failed(self, inbox_id: int, error: str) -> None:
        await self._writer.submit(partial(inbox.mark_failed, inbox_id=inbox_id, error=error))

    async def mark_sent(self, send: DueSend, provider_message_id: str, at: datetime) -> None:
        await self._writer.submit(
            partial(
                outbox.mark_sent, send=send, provider_message_id=provider_message_id, at=iso(at)
            )
        )

    async def mark_retry(
        self,
        outbox_id: int,
        next_attempt_at: datetime,
        code: int | None,
        detail: str,
        at: datetime,
    ) -> None:
        await self._writer.submit(
            partial(
                outbox.mark_retry,
                outbox_id=outbox_id,
                next_attempt_at=next_attempt_at.timestamp(),
                code=code,
                detail=detail,
                at=iso(at),
            )
        )

    async def mark_send_failed(
        self, send: DueSend, code: int | None, detail: str, at: datetime
    ) -> None:
        await self._writer.submit(
            partial(outbox.mark_failed, send=send, code=code, detail=detail, at=iso(at))
        )

    async def put_value(self, key: str, value: str) -> None:
        await self._writer.submit(partial(kv.put, key=key, value=value))

    async def create_operator(self, operator: NewOperator) -> None:
        await self._writer.submit(partial(operators.insert, operator=operator))

    async def change_operator(self, change: OperatorChange) -> None:
        await self._writer.submit(partial(operators.update, change=change))

    # --- the core's reads -------------------------------------------------------------
    async def get_value(self, key: str) -> str | None:
        return await kv.get(self._reader, key)

    async def load_snapshots(self, conversation_ids: list[str]) -> dict[str, bytes]:
        return await conversations.load_snapshots(self._reader, conversation_ids)

    async def wakeups(self) -> list[tuple[str, datetime]]:
        return await conversations.wakeups(self._reader)

    async def unprocessed_inbox(
        self,
        max_attempts: int,
        conversation_id: str | None = None,
        after_id: int = 0,
        limit: int | None = None,
    ) -> list[InboxEvent]:
        return await inbox.unprocessed(self._reader, max_attempts, conversation_id, after_id, limit)

    async def mark_attempting(self, outbox_ids: list[int], at: datetime) -> None:
        await self._writer.submit(
            partial(outbox.mark_attempting, outbox_ids=outbox_ids, at=at.timestamp())
        )

    async def defer_unconfirmed(self, until: datetime) -> list[tuple[int, str]]:
        return await self._writer.submit(partial(outbox.defer_unconfirmed, until=until.timestamp()))

    async def due_sends(self, now: datetime, limit: int) -> list[DueSend]:
        return await outbox.due(self._reader, now, limit)

    async def next_send_attempt(self, after: datetime) -> datetime | None:
        return await outbox.next_attempt(self._reader, after)

    async def is_own_send(
        self,
        provider_ids: list[str],
        outbox_ids: list[int],
        recipient: str | None,
        text: str | None,
        since: datetime,
    ) -> bool:
        return await outbox.is_own_send(
            self._reader, provider_ids, outbox_ids, recipient, text, since
        )

    async def aliases(self, kind: str) -> list[Alias]:
        return await aliases.of_kind(self._reader, kind)

    async def alias(self, business_id: str, kind: str, key: str) -> str | None:
        return await aliases.get(self._reader, business_id, kind, key)

    async def inbox_events(
        self, conversation_id: str, limit: int, offset: int
    ) -> tuple[list[InboxRecord], int]:
        return await inbox.of_conversation(self._reader, conversation_id, limit, offset)

    # --- operators --------------------------------------------------------------------
    async def operator_by_token(self, token_hash: str) -> OperatorView | None:
        return await operators.by_token_hash(self._reader, token_hash)

    async def operator(self, operator_id: str) -> OperatorView | None:
        return await operators.get(self._reader, operator_id)

    async def operators(self) -> list[OperatorView]:
        return await operators.all_operators(self._reader)

    # --- sessions ---------------------------------------------------------------------
    async def session(self, session_id: str) -> SessionView | None:
        return await sessions.get(self._reader, session_id)

    async def waiting_sessions(self) -> list[SessionView]:
        return await sessions.waiting(self._reader)

    async def open_sessions(self) -> list[SessionView]:
        return await sessions.open_sessions(self._reader)

    async def sessions_held_by(self, operator_id: str) -> list[SessionView]:
        return await sessions.held_by(self._reader, operator_id)

    async def session_history(
        self, where: SessionFilter, limit: int, offset: int
    ) -> tuple[list[SessionView], int]:
        return await sessions.history(self._reader, where, limit, offset)

    async def chat_state_counts(self) -> dict[str, int]:
        return await sessions.chat_state_counts(self._reader)

    async def stuck_sessions(self, before: datetime) -> list[SessionView]:
        return await sessions.stuck(self._reader, before)

    async def operator_stats(self, since: datetime) -> list[OperatorStats]:
        return await sessions.operator_stats(self._reader, since)

    async def assignments(self, session_id: str) -> list[AssignmentView]:
        return await sessions.assignments_of(self._reader, session_id)

    # --- conversations ----------------------------------------------------------------
    async def conversation(self, conversation_id: str, now: datetime) -> ConversationView | None:
        return await conversations.get(self._reader, conversation_id, now)

    async def conversations(
        self, where: ConversationFilter, limit: int, offset: int, now: datetime
    ) -> tuple[list[ConversationView], int]:
        return await conversations.search(self._reader, where, limit, offset, now)

    async def messages(
        self, conversation_id: str, limit: int, offset: int
    ) -> tuple[list[MessageView], int]:
        return await messages.for_conversation(self._reader, conversation_id, limit, offset)

    async def session_messages(self, session_id: str) -> list[MessageView]:
        return await messages.for_session(self._reader, session_id)

    async def messages_before(
        self, conversation_id: str, until: datetime, limit: int
    ) -> list[MessageView]:
        return await messages.before(self._reader, conversation_id, until, limit)

    async def message(self, message_id: str) -> MessageView | None:
        return await messages.get(self._reader, message_id)

    async def journey(self, conversation_id: str) -> list[JournalEntry]:
        return await journal.for_conversation(self._reader, conversation_id)

    async def active_pauses(
        self, now: datetime, limit: int, offset: int
    ) -> tuple[list[PauseView], int]:
        return await pauses.active(self._reader, now, limit, offset)

    async def expired_pauses(self, now: datetime) -> list[str]:
        return await pauses.expired_active(self._reader, now)

    # --- maintenance (seed 002) ---------------------------------------------------------
    async def archive_candidates(
        self, now: datetime, age_days: float, inactive_days: float, completed: bool, limit: int
    ) -> list[ArchiveCandidate]:
        return await self._writer.submit(
            partial(archives.candidates, now=now, age_days=age_days,
                    inactive_days=inactive_days, completed=completed, limit=limit)
        )  # fmt: skip

    async def archive_chunk(
        self, conversation_id: str, compress: bool, now: datetime
    ) -> tuple[int, int]:
        return await self._writer.submit(
            partial(archives.move_chunk, conversation_id=conversation_id, compress=compress,
                    at=iso(now))
        )  # fmt: skip

    async def archives(self, limit: int, offset: int) -> tuple[list[ArchiveView], int]:
        return await archives.archived(self._reader, limit, offset)

    async def cleanup(
        self,
        *,
        archive_before: datetime | None,
        inbox_before: datetime | None,
        remove_orphans: bool,
        optimize: bool,
        dry_run: bool,
    ) -> CleanupReport:
        """Each deletion a chunk at a time, each chunk its own short write."""
        submit = self._writer.submit
        size, total, free = await submit(upkeep.pages)
        plan: list[tuple[str, str, tuple[str, ...]]] = []
        if archive_before is not None:
            plan.append(("message_archives", upkeep.ARCHIVES_OLD, (iso(archive_before),)))
        if remove_orphans:
            plan += [(table, where, ()) for table, where in upkeep.ORPHANS.items()]
        if inbox_before is not None:
            plan.append(("inbox", upkeep.INBOX_OLD, (iso(inbox_before),)))
        counts: dict[str, int] = {}
        freed_archive = 0
        if archive_before is not None:
            freed_archive = await submit(partial(upkeep.archive_bytes, before=iso(archive_before)))
        for table, where, params in plan:
            if dry_run:
                counts[table] = await submit(partial(upkeep.count, table=table, where=where,
                                                     params=params))  # fmt: skip
                continue
            gone = 0
            while (step := await submit(partial(upkeep.delete_chunk, table=table, where=where,
                                                params=params))) > 0:  # fmt: skip
                gone += step
            counts[table] = gone
        optimized = optimize and not dry_run
        if optimized:
            await submit(upkeep.optimize)
            while await submit(upkeep.vacuum_step) > 0:
                pass
        size_after, total_after, free_after = await submit(upkeep.pages)
        return CleanupReport(
            dry_run=dry_run,
            deleted_archives=counts.get("message_archives", 0),
            archive_bytes=freed_archive,
            orphan_messages=counts.get("messages", 0),
            orphan_journal=counts.get("journal", 0),
            orphan_outbox=counts.get("outbox", 0),
            inbox_removed=counts.get("inbox", 0),
            optimized=optimized,
            file_bytes_before=size * total,
            file_bytes_after=size_after * total_after,
            free_pages_before=free,
            free_pages_after=free_after,
        )

    async def database_stats(self) -> DatabaseStats:
        return await upkeep.stats(self._reader)

    async def merge_message_metadata(
        self, message_id: str, change: MetadataChange
    ) -> MetadataView | None:
        if not (message_id.isascii() and message_id.isdigit()) or len(message_id) > 18:
            return None
        return await self._writer.submit(
            partial(maintenance.merge_message, message_id=int(message_id), change=change)
        )

    async def merge_conversation_metadata(
        self, conversation_id: str, change: MetadataChange
    ) -> MetadataView | None:
        return await self._writer.submit(
            partial(maintenance.merge_conversation, conversation_id=conversation_id,
                    change=change)
        )  # fmt: skip

    async def update_message_statuses(
        self, changes: list[MessageStatusChange], now: datetime
    ) -> StatusBatch:
        return await self._writer.submit(
            partial(maintenance.update_statuses, changes=changes, at=iso(now))
        )

    async def import_history(
        self, conversation_id: str, rows: list[MessageRow], now: datetime
    ) -> tuple[int, int]:
        return await self._writer.submit(
            partial(maintenance.import_history, conversation_id=conversation_id, rows=rows,
                    at=iso(now), next_id=self.next_message_id)
        )  # fmt: skip

    async def save_sync_status(self, row: SyncRow) -> None:
        await self._writer.submit(partial(maintenance.save_sync, row=row))

    async def sync_statuses(
        self, entity_id: str | None, limit: int, offset: int
    ) -> tuple[list[SyncStatusView], int]:
        return await maintenance.sync_states(self._reader, entity_id, limit, offset)

    async def save_job(self, job: JobState, now: datetime) -> None:
        await self._writer.submit(partial(maintenance.save_job, job=job, at=iso(now)))

    async def jobs(self) -> list[JobState]:
        return await maintenance.jobs(self._reader)

    async def conversation_refs(self, after: str, limit: int) -> list[ConversationRef]:
        return await maintenance.conversation_refs(self._reader, after, limit)

    async def unanalyzed_messages(self, after_id: int, limit: int) -> list[MessageView]:
        return await maintenance.unanalyzed(self._reader, after_id, limit)

    # --- health -----------------------------------------------------------------------
    async def inbox_counts(self) -> InboxCounts:
        return await inbox.counts(self._reader)

    async def outbox_counts(self) -> OutboxCounts:
        return await outbox.counts(self._reader)
