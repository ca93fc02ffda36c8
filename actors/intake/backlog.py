"""Events that do not fit their conversation's mailbox wait in the inbox, not in memory.

`deliver` hands a stored event to its conversation. When that mailbox is full, the
conversation is parked: it is noted with the id of the last event it was handed, and its
later events stay in the inbox only. When its mailbox drains, the refill task reads the next
ones back from the inbox, in order, as many as fit, until none is left. A parked
conversation costs one entry in memory, whatever the size of its backlog. (An event read
back while it is also being delivered reaches the actor twice; the actor drops the second,
since events reach it in inbox order.)

The same path replays, at start-up, the events stored but not processed before a stop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import structlog

from actors.conversation.messages import InboundEvent
from actors.runtime.errors import MailboxFull
from actors.runtime.registry import Registry
from storage.store import Store

log = structlog.get_logger("backlog")
REPLAY_PAGE = 5000


class Backlog:
    def __init__(
        self,
        store: Store,
        registry: Registry[Any],
        decode: Callable[[bytes], InboundEvent],
        max_attempts: int,
    ) -> None:
        self._store = store
        self._registry = registry
        self._decode = decode
        self._max_attempts = max_attempts
        self._parked: dict[str, int] = {}  # conversation -> the last event id it was handed
        self._arrived: set[str] = set()  # parked conversations that got events while read
        self._due: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._worker: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self.parked_total = 0

    @property
    def parked(self) -> int:
        """Conversations whose later events wait in the inbox."""
        return len(self._parked)

    def has_room(self, conversation_id: str) -> bool:
        """Whether the conversation takes more events now (no backlog, mailbox not full)."""
        return conversation_id not in self._parked and self._registry.has_room(conversation_id)

    def deliver(self, conversation_id: str, event: InboundEvent, inbox_id: int) -> None:
        """Hand a stored event to its conversation, or leave it in the inbox for later."""
        if conversation_id in self._parked:
            self._arrived.add(conversation_id)
            return
        try:
            self._registry.tell(conversation_id, event, inbox_id=inbox_id)
        except MailboxFull:
            self._parked[conversation_id] = inbox_id - 1
            self.parked_total += 1
            log.info("conversation_parked", conversation_id=conversation_id, inbox_id=inbox_id)

    def drained(self, conversation_id: str) -> None:
        """The conversation's mailbox emptied: read its waiting events back, if any."""
        if conversation_id in self._parked and conversation_id not in self._queued:
            self._queued.add(conversation_id)
            self._idle.clear()
            self._due.put_nowait(conversation_id)

    def start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(self._work(), name="backlog")

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None

    async def replay(self, found: Callable[[int], None] = lambda n: None) -> int:
        """Deliver every event stored but not processed, oldest first, a page at a time;
        `found` is told of each page before it is delivered (so before any of it settles)."""
        after, count = 0, 0
        while True:
            rows = await self._store.unprocessed_inbox(
                self._max_attempts, after_id=after, limit=REPLAY_PAGE
            )
            found(len(rows))
            for row in rows:
                self.deliver(row.conversation_id, self._decode(row.payload), row.id)
            count += len(rows)
            if len(rows) < REPLAY_PAGE:
                return count
            after = rows[-1].id

    @property
    def idle(self) -> bool:
        """No refill queued or in progress."""
        return self._idle.is_set()

    async def wait_idle(self) -> None:
        await self._idle.wait()

    async def _work(self) -> None:
        while True:
            conversation_id = await self._due.get()
            self._queued.discard(conversation_id)
            try:
                await self._refill(conversation_id)
            except asyncio.CancelledError:
                raise
            except Exception:  # the store failed: try again at the next drain
                log.exception("refill_failed", conversation_id=conversation_id)
            finally:
                if not self._queued:
                    self._idle.set()

    async def _refill(self, conversation_id: str) -> None:
        after = self._parked.get(conversation_id)
        if after is None:
            return
        self._arrived.discard(conversation_id)
        limit = self._registry.capacity
        rows = await self._store.unprocessed_inbox(
            self._max_attempts, conversation_id, after_id=after, limit=limit
        )
        last = after
        for row in rows:
            try:
                self._registry.tell(conversation_id, self._decode(row.payload), inbox_id=row.id)
            except MailboxFull:
                break
            last = row.id
        handed_all = last == (rows[-1].id if rows else after)
        if handed_all and len(rows) < limit and conversation_id not in self._arrived:
            del self._parked[conversation_id]  # nothing waits any more
            return
        self._parked[conversation_id] = last
        if last == after and not self._registry.is_busy(conversation_id):
            self.drained(conversation_id)  # no drain will call back: read again
