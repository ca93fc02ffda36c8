"""Durable intake: decoded webhook events go into the inbox (deduplicated) in one commit,
and only then to their conversations. The webhook is answered after `accept` returns."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from functools import partial

import msgspec

from actors.conversation.keys import conversation_id
from actors.conversation.messages import InboundEvent, encode_event
from actors.runtime.errors import MailboxFull
from actors.runtime.registry import Registry
from storage import inbox as inbox_store
from storage.rows import InboxRow, JournalRow, StatusRow
from storage.timefmt import iso
from storage.writer import Writer


class StatusNote(msgspec.Struct, frozen=True):
    """A delivery status of one of our sends, merged into its message at intake."""

    provider_message_id: str
    status: str
    at: datetime
    outbox_id: int | None = None
    error_code: int | None = None
    error_detail: str | None = None


class IntakeItem(msgspec.Struct, frozen=True):
    """One event of a webhook: for a conversation (`event`), a delivery `status`, or
    ignored with a `note`."""

    dedupe_key: str
    source: str
    event: InboundEvent | None = None
    status: StatusNote | None = None
    note_step: str | None = None
    note_status: str | None = None
    note_detail: str | None = None

    @property
    def conversation_id(self) -> str | None:
        if self.event is None:
            return None
        return conversation_id(self.event.who.business_id, self.event.who.customer_id)


class IntakeResult(msgspec.Struct):
    accepted: int = 0
    duplicates: int = 0
    ignored: int = 0


_KIND = {"customer_message": "message", "agent_message": "agent"}


async def accept(
    items: list[IntakeItem], *, writer: Writer, registry: Registry[Any], now: datetime
) -> IntakeResult:
    """Store every item, then hand the new events to their actors. MailboxFull (before
    anything is stored) when a conversation cannot take more mail: the sender retries."""
    targets = [item.conversation_id for item in items]
    for cid in targets:
        if cid is not None and not registry.has_room(cid):
            raise MailboxFull(cid)
    at = iso(now)
    rows: list[tuple[InboxRow, JournalRow | None]] = []
    for item, cid in zip(items, targets, strict=True):
        event = item.event
        if event is not None:
            kind = _KIND[str(type(event).__struct_config__.tag)]
        else:
            kind = "status" if item.status is not None else "ignored"
        row = InboxRow(
            dedupe_key=item.dedupe_key,
            source=item.source,
            kind=kind,
            conversation_id=cid,
            payload=None if event is None else encode_event(event),
            received_at=at,
            processed=event is None,
            status=_status_row(item.status),
        )
        note = None
        if item.note_step is not None:
            note = JournalRow(
                cid, at, item.note_step, item.note_status or "ignored", item.note_detail
            )
        rows.append((row, note))
    ids = await writer.submit(partial(inbox_store.insert, rows=rows))
    result = IntakeResult()
    for item, cid, inbox_id in zip(items, targets, ids, strict=True):
        if inbox_id is None:
            result.duplicates += 1
        elif item.status is not None:
            result.accepted += 1
        elif item.event is None or cid is None:
            result.ignored += 1
        else:
            result.accepted += 1
            registry.tell(cid, item.event, inbox_id=inbox_id, force=True)
    return result


def _status_row(note: StatusNote | None) -> StatusRow | None:
    if note is None:
        return None
    return StatusRow(
        provider_message_id=note.provider_message_id,
        status=note.status,
        at=iso(note.at),
        outbox_id=note.outbox_id,
        error_code=note.error_code,
        error_detail=note.error_detail,
    )
