"""Drains the outbox: sends what was committed, retries with backoff, records the outcome.

Sends committed by a step are handed over in memory (no read back from the database); the
store is scanned only at start-up and when a retry falls due. One send in flight per
recipient, in commit order (WhatsApp does not keep the order of concurrent sends); a
recipient whose send waits for a retry holds its later messages back. At most
`concurrency` sends in flight in all, at most `messages_per_second` for each business number
(`pace.py`; a throttling answer slows it down). Retry times are one deadline in the shared heap.

Each send is marked as attempting, durably, before its request leaves, and the mark goes
with its recorded outcome. A crash (kill -9, power loss) between the two leaves rows that
may or may not have reached the provider, which has no idempotency key: at the next start
they wait `unconfirmed_grace` seconds for a status webhook naming them (Meta posts one for
every message it accepted, with our `biz_opaque_callback_data`), which confirms them
(`Store.insert_inbox` applies it); only those still unconfirmed then are sent again. Their
recipients' later messages wait behind them, in order. Sends never attempted are sent at
once: they cannot be duplicates.

Stopping lets the sends in flight finish (within `drain_seconds`) and records them, so a
clean restart sends nothing twice; only a send still unanswered after that is cancelled,
and it is treated at the next start as a crash would leave it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

import structlog

from actors.outbox.outbound import OutboundProvider, SendResult, decode_outbound
from actors.outbox.pace import THROTTLED, Pace
from actors.runtime.clock import Clock
from actors.runtime.durably import durably
from storage.store import Store
from storage.views import DueSend

log = structlog.get_logger("outbox")
OUTBOX_TIMER_KEY = ("system", "outbox")


class OutboxSender:
    def __init__(
        self,
        *,
        store: Store,
        provider: OutboundProvider,
        clock: Clock,
        schedule: Callable[[datetime | None], None],
        concurrency: int,
        max_attempts: int,
        retry_base: float,
        retry_max: float,
        drain_seconds: float = 10.0,
        messages_per_second: float = 80.0,
        max_queued: int = 10_000,
        unconfirmed_grace: float = 30.0,
    ) -> None:
        self._store = store
        self._provider = provider
        self._clock = clock
        self._schedule = schedule
        self._concurrency = concurrency
        self._max_attempts = max_attempts
        self._retry_base = retry_base
        self._retry_max = retry_max
        self._drain_seconds = drain_seconds
        self._unconfirmed_grace = unconfirmed_grace
        self._recovering = True  # the first scan defers what a crash left unconfirmed
        self.pace = Pace(messages_per_second)
        # Past `max_queued` sends in memory, the rest wait in the outbox table (they are
        # committed there already) and are read back, in order, as the queue drains.
        self._max_queued = max_queued
        self._overflow = False
        self._deferred_upto = 0  # the largest id left in the table while overflowing
        self._queues: dict[str, deque[DueSend]] = {}  # per recipient, commit order
        self._ready: deque[str] = deque()  # recipients with mail and nothing in flight
        self._busy: set[str] = set()  # a send in flight, or one waiting for its retry
        self._known: set[int] = set()  # queued, in flight, or waiting for a retry
        # Sends waiting in the table for a retry (or, after a crash, for a confirmation),
        # each with its recipient, held back behind it, and when it falls due.
        self._retry_wait: dict[int, tuple[str, datetime]] = {}
        self._due_retries: deque[DueSend] = deque()
        self._sending: dict[int, asyncio.Task[None]] = {}
        self._scan: asyncio.Task[None] | None = None
        self._rescan = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopped = False
        self.sent = 0
        self.failed = 0
        self.retried = 0

    @property
    def idle(self) -> bool:
        return not (
            self._sending or self._ready or self._due_retries or self._scan or self._overflow
        )

    @property
    def in_flight(self) -> int:
        return len(self._sending)

    def start(self) -> None:
        """Pick up whatever is pending in the store (left from before a restart)."""
        self.wake()

    def submit(self, sends: list[DueSend], *, scanned: bool = False) -> None:
        """Sends just committed by a step (or read back from the table), in their commit
        order. While the queue is full they stay in the table, and new ones too, so that a
        recipient's messages still go in order."""
        for send in sends:
            if send.id in self._known:
                continue
            if (self._overflow and not scanned) or len(self._known) >= self._max_queued:
                self._overflow = True
                self._deferred_upto = max(self._deferred_upto, send.id)
                continue
            self._known.add(send.id)
            queue = self._queues.setdefault(send.recipient, deque())
            queue.append(send)
            if len(queue) == 1 and send.recipient not in self._busy:
                self._ready.append(send.recipient)
        self._pump()

    def wake(self) -> None:
        """A retry is due (or the process started): scan the store for due sends."""
        if self._stopped:
            return
        if self._scan is not None:
            self._rescan = True
            return
        self._idle.clear()
        self._scan = asyncio.get_running_loop().create_task(self._scan_due(), name="outbox-scan")

    async def wait_idle(self) -> None:
        while not self.idle:
            self._idle.clear()
            await self._idle.wait()

    async def stop(self) -> None:
        """Start no more sends; let those in flight finish and be recorded, for at most
        `drain_seconds`, then cancel what is left (it stays pending in the store)."""
        self._stopped = True
        if self._scan is not None:
            self._scan.cancel()
            await asyncio.gather(self._scan, return_exceptions=True)
        in_flight = list(self._sending.values())
        if in_flight:
            _, late = await asyncio.wait(in_flight, timeout=self._drain_seconds)
            if late:
                log.warning("sends_cancelled_at_stop", count=len(late))
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def _scan_due(self) -> None:
        try:
            while True:
                self._rescan = False
                now = self._clock.now()
                if self._recovering:
                    await self._defer_unconfirmed(now)
                limit = 10_000
                rows = await self._store.due_sends(now, limit=limit)
                fresh = []
                for row in rows:
                    if self._retry_wait.pop(row.id, None) is not None:
                        self._due_retries.append(row)
                    elif row.id not in self._known:
                        fresh.append(row)
                if len(rows) < limit:
                    self._settled_elsewhere(now)
                deferred = self._deferred_upto
                self._deferred_upto = 0
                self.submit(fresh, scanned=True)
                refilled = self._deferred_upto != 0  # the queue filled up again
                self._deferred_upto = max(self._deferred_upto, deferred)
                if self._overflow and not refilled and (not rows or rows[-1].id >= deferred):
                    self._overflow = False  # every send left in the table is queued now
                    self._deferred_upto = 0
                await self._schedule_next_retry(now)
                if not self._rescan:
                    break
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("outbox_scan_failed")
        finally:
            self._scan = None
            self._pump()

    async def _defer_unconfirmed(self, now: datetime) -> None:
        """What was in flight when the process died waits for its status, its recipient's
        later messages behind it."""
        until = now + timedelta(seconds=self._unconfirmed_grace)
        held = await self._store.defer_unconfirmed(until)
        self._recovering = False
        for outbox_id, recipient in held:
            self._known.add(outbox_id)
            self._busy.add(recipient)
            self._retry_wait[outbox_id] = (recipient, until)
        if held:
            log.warning(
                "sends_unconfirmed_at_start", count=len(held), grace_seconds=self._unconfirmed_grace
            )

    def _settled_elsewhere(self, now: datetime) -> None:
        """A send waiting for its retry that is due but no longer pending was settled by a
        status webhook (it had reached the provider): its recipient goes on."""
        for outbox_id, (recipient, due) in list(self._retry_wait.items()):
            if due <= now:
                del self._retry_wait[outbox_id]
                self._known.discard(outbox_id)
                log.info("send_confirmed_by_status", outbox_id=outbox_id)
                self._release(recipient)

    async def _schedule_next_retry(self, now: datetime) -> None:
        self._schedule(await self._store.next_send_attempt(after=now))

    def _pump(self) -> None:
        """Start sends while there is room: due retries first, then recipients in turn."""
        loop = asyncio.get_running_loop()
        while len(self._sending) < self._concurrency and not self._stopped:
            if self._due_retries:
                send = self._due_retries.popleft()
            elif self._ready:
                recipient = self._ready.popleft()
                queue = self._queues.get(recipient)
                if not queue:
                    continue
                send = queue.popleft()
                if not queue:
                    del self._queues[recipient]
                self._busy.add(recipient)
            else:
                break
            self._sending[send.id] = loop.create_task(self._send(send))
        if self.idle:
            self._idle.set()

    async def _send(self, row: DueSend) -> None:
        retry_at: datetime | None = None
        try:
            message = decode_outbound(row.body)
            await self.pace.slot(message.business_id)
            try:
                await self._store.mark_attempting([row.id], self._clock.now())
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the store refuses writes: not sent, try again soon
                retry_at = self._clock.now() + timedelta(seconds=self._retry_base)
                log.warning("send_postponed", outbox_id=row.id, error=type(exc).__name__)
                self._schedule(retry_at)
                return
            try:
                result = await self._provider.send(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a provider bug must not lose the message
                log.exception("provider_send_raised", outbox_id=row.id)
                result = SendResult(ok=False, retryable=True, error_detail=repr(exc))
            retry_at = await self._record(row, result, message.conversation_id)
        finally:
            self._sending.pop(row.id, None)
            if retry_at is not None:
                self._retry_wait[row.id] = (row.recipient, retry_at)
            else:
                self._known.discard(row.id)
                self._release(row.recipient)
            if self._overflow and len(self._known) < self._max_queued // 2:
                self.wake()  # read back what waits in the table
            self._pump()

    def _release(self, recipient: str) -> None:
        self._busy.discard(recipient)
        if recipient in self._queues:
            self._ready.append(recipient)

    async def _record(
        self, row: DueSend, result: SendResult, conversation_id: str
    ) -> datetime | None:
        """Write the outcome; the time of the retry when there will be one."""
        now = self._clock.now()
        if result.ok:
            self.sent += 1
            pid = result.provider_message_id or f"unknown.{row.id}"
            await durably(partial(self._store.mark_sent, row, pid, now), "mark_sent")
            log.info("message_sent", conversation_id=conversation_id, outbox_id=row.id)
            return None
        detail = result.error_detail or "send failed"
        if result.error_code in THROTTLED:
            rate = self.pace.throttled(decode_outbound(row.body).business_id)
            log.warning("send_throttled", code=result.error_code, messages_per_second=rate)
        if result.retryable and row.attempts + 1 < self._max_attempts:
            self.retried += 1
            delay = min(self._retry_max, result.retry_after or self._retry_base * 4**row.attempts)
            log.warning(
                "send_retry",
                conversation_id=conversation_id,
                outbox_id=row.id,
                code=result.error_code,
                detail=detail,
                in_seconds=delay,
            )
            retry_at = now + timedelta(seconds=delay)
            await durably(
                partial(self._store.mark_retry, row.id, retry_at, result.error_code, detail, now),
                "mark_retry",
            )
            await self._schedule_next_retry(now)
            return retry_at
        self.failed += 1
        log.warning(
            "send_failed",
            conversation_id=conversation_id,
            outbox_id=row.id,
            code=result.error_code,
            detail=detail,
        )
        await durably(
            partial(self._store.mark_send_failed, row, result.error_code, detail, now),
            "mark_send_failed",
        )
        return None
