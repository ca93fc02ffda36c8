"""Durable intake: decoded webhook events go into the inbox (deduplicated) in one commit,
and only then to their conversations. The webhook is answered after `accept` returns."""

from __future__ import annotations

from datetime import datetime

from actors.conversation.messages import encode_event
from actors.intake.admission import Admission
from actors.intake.backlog import Backlog
from actors.intake.identity import Resolver
from actors.intake.items import IntakeItem, IntakeResult
from actors.runtime.errors import MailboxFull
from storage.rows import Alias, InboxRow, JournalRow
from storage.store import Store

_KIND = {"customer_message": "message", "agent_message": "agent"}


async def accept(
    items: list[IntakeItem],
    *,
    store: Store,
    backlog: Backlog,
    resolver: Resolver,
    admission: Admission,
    now: datetime,
) -> IntakeResult:
    """Store every item, then hand the new events to their conversations. Before anything
    is stored: IntakeFull when the gateway has too much unprocessed intake, MailboxFull
    when a conversation cannot take more; the sender retries.

    A batch may hold more events for one conversation than its mailbox takes; they are all
    stored (and acknowledged), and those that do not fit wait in the inbox (`Backlog`)."""
    events = sum(1 for item in items if item.event is not None)
    admission.reserve(events)
    try:
        result, delivered = await _store_and_deliver(items, store, backlog, resolver, now)
    except MailboxFull:
        admission.release(events, "conversation")
        raise
    except BaseException:
        admission.release(events)
        raise
    admission.stored(events, delivered)
    return result


async def _store_and_deliver(
    items: list[IntakeItem], store: Store, backlog: Backlog, resolver: Resolver, now: datetime
) -> tuple[IntakeResult, int]:
    """The answer, and how many new events were handed to (or left in the inbox for) their
    conversations: no await between their delivery and the count, so none settles first."""
    targets: list[str | None] = []
    links: list[Alias] = []
    for item in items:
        if item.event is None:
            targets.append(None)
            continue
        found, learnt = await resolver.conversation_of(item.event.who)
        targets.append(found)
        links.extend(learnt)
    for target in targets:
        if target is not None and not backlog.has_room(target):
            raise MailboxFull(target)
    rows: list[InboxRow] = []
    for item, cid in zip(items, targets, strict=True):
        event = item.event
        if event is not None:
            kind = _KIND[str(type(event).__struct_config__.tag)]
        else:
            kind = "status" if item.status is not None else "ignored"
        note = None
        if item.note_step is not None:
            note = JournalRow(
                cid, now, item.note_step, item.note_status or "ignored", item.note_detail
            )
        rows.append(
            InboxRow(
                dedupe_key=item.dedupe_key,
                source=item.source,
                kind=kind,
                conversation_id=cid,
                payload=None if event is None else encode_event(event),
                received_at=now,
                processed=event is None,
                status=item.status,
                note=note,
            )
        )
    ids = await store.insert_inbox(rows, links)
    resolver.learned(links)
    result, delivered = IntakeResult(), 0
    for item, cid, inbox_id in zip(items, targets, ids, strict=True):
        if inbox_id is None:
            result.duplicates += 1
        elif item.status is not None:
            result.accepted += 1
        elif item.event is None or cid is None:
            result.ignored += 1
        else:
            result.accepted += 1
            delivered += 1
            backlog.deliver(cid, item.event, inbox_id)
    return result, delivered
