"""The sync job (seed 002): each conversation's history read back from the provider and
stored, missing messages inserted and changed ones updated (keyed on the provider's id), the
chat's `sync_status` kept. A failed chat is retried at later runs, with backoff, up to
`[sync] max_retries`; failing `[alerts] sync_failures` times in a row is an alert."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from actors.jobs.scheduler import JobRun
from actors.maintenance.context import Maintenance, log
from actors.maintenance.history import HistoryChat, HistoryError, HistoryMessage
from storage.content import Text
from storage.rows import MessageRow, SyncRow
from storage.views import ConversationRef, MessageView, SyncStatusView


async def sync_job(m: Maintenance, run: JobRun) -> dict[str, Any]:
    """`params`: `chat_id` (None: every conversation), `mode` (`incremental` or `full`)."""
    mode = str(run.params.get("mode") or "incremental")
    chat_id: str | None = run.params.get("chat_id")
    result: dict[str, Any] = {"synced_count": 0, "errors": [], "sync_mode": mode, "chats": 0}
    if m.history is None:
        result["skipped"] = "no history source: the Cloud API sends its history by webhooks"
        return result
    forced = run.trigger == "api"
    async for ref in _conversations(m, chat_id):
        if ref.phone is None or (ref.archived and chat_id is None):
            continue
        states, _ = await m.store.sync_statuses(ref.id, 1, 0)
        state = states[0] if states else None
        if not forced and not _due(m, state):
            continue
        synced, error = await sync_one(m, ref, mode, state)
        result["chats"] += 1
        result["synced_count"] += synced
        if error is not None:
            result["errors"].append({"chat_id": ref.id, "error": error})
    return result


async def _conversations(m: Maintenance, chat_id: str | None) -> AsyncIterator[ConversationRef]:
    """The one conversation named, or every one, a page at a time."""
    if chat_id is not None:
        found = await m.store.conversation(chat_id, m.clock.now())
        if found is not None:
            archived = found.archived_at is not None
            yield ConversationRef(
                found.id, found.business_id, found.phone_number, found.last_activity_at, archived
            )
        return
    after = ""
    while page := await m.store.conversation_refs(after, m.settings.sync.batch):
        for ref in page:
            yield ref
        after = page[-1].id


def _due(m: Maintenance, state: SyncStatusView | None) -> bool:
    """A scheduled run takes a chat not failed, or failed with its retry due."""
    if state is None or state.sync_status != "failed":
        return True
    if state.retry_count > m.settings.sync.max_retries:
        return False
    return state.next_retry_at is None or state.next_retry_at <= m.clock.now()


async def sync_one(
    m: Maintenance, ref: ConversationRef, mode: str, state: SyncStatusView | None
) -> tuple[int, str | None]:
    """Sync one chat: (messages inserted or updated, the error if it failed)."""
    assert m.history is not None and ref.phone is not None
    now = m.clock.now()
    since = _since(m, mode, state, now)
    chat = HistoryChat(ref.id, ref.business_id, ref.phone)
    started = time.monotonic()
    try:
        found = await m.history.fetch(chat, since)
        inserted, updated = await m.store.import_history(
            ref.id, [history_row(ref.id, h) for h in found], now
        )
    except HistoryError as exc:
        m.stats.synced(time.monotonic() - started, False, 0)
        return 0, await _failed(m, ref.id, state, exc, now)
    except Exception as exc:  # a bug or a surprise of the provider's: this chat fails, not the run
        log.exception("sync_error", conversation_id=ref.id)
        m.stats.synced(time.monotonic() - started, False, 0)
        error = HistoryError("unexpected", retryable=True, detail=type(exc).__name__)
        return 0, await _failed(m, ref.id, state, error, now)
    m.stats.synced(time.monotonic() - started, True, inserted + updated)
    m.stats.alert(f"sync_failing:{ref.id}", None)
    await m.store.save_sync_status(
        SyncRow(ref.id, "synced", now, last_sync_at=now, synced_count=inserted + updated)
    )
    return inserted + updated, None


def _since(
    m: Maintenance, mode: str, state: SyncStatusView | None, now: datetime
) -> datetime | None:
    """Incremental: from the last sync (a little before, for clock skew); full when there
    was none or it is older than `[sync] full_every_hours`."""
    last = state.last_sync_at if state is not None else None
    if mode == "full" or last is None:
        return None
    if now - last > timedelta(hours=m.settings.sync.full_every_hours):
        return None
    return last - timedelta(minutes=5)


async def _failed(
    m: Maintenance, chat_id: str, state: SyncStatusView | None, exc: HistoryError, now: datetime
) -> str:
    retries = (state.retry_count if state is not None else 0) + 1
    settings = m.settings.sync
    wait = exc.retry_after or settings.retry_base_seconds * 4 ** (retries - 1)
    retry_at = (
        now + timedelta(seconds=wait) if exc.retryable and retries <= settings.max_retries else None
    )
    error = str(exc)
    await m.store.save_sync_status(
        SyncRow(chat_id, "failed", now, error_message=error, retry_count=retries,
                next_retry_at=retry_at)
    )  # fmt: skip
    if retries >= m.settings.alerts.sync_failures:
        m.stats.alert(f"sync_failing:{chat_id}", f"sync of {chat_id} failed {retries} times")
        log.error("sync_failing", conversation_id=chat_id, failures=retries, reason=exc.reason)
    else:
        log.warning("sync_failed", conversation_id=chat_id, reason=exc.reason, retry_at=retry_at)
    return error


def history_row(conversation_id: str, h: HistoryMessage) -> MessageRow:
    """A history message as a row to import (the store gives new ones their id)."""
    view = MessageView(
        id="0",
        conversation_id=conversation_id,
        session_id=None,
        direction=h.direction,
        sender_type=h.sender_type,
        sender_id=h.sender_id,
        kind=h.kind,
        text=h.text,
        created_at=h.created_at,
        status=h.status if h.direction == "out" else "received",
        provider_message_id=h.provider_message_id,
        content=h.content if h.content is not None else (Text(body=h.text) if h.text else None),
        reply_to=h.reply_to,
    )
    return MessageRow(view, payload=None, processed=True)
