"""Drains the outbox: sends what was committed, retries with backoff, records the outcome.

One send in flight per recipient (WhatsApp does not keep the order of concurrent sends),
at most `concurrency` in all. Its next retry is a deadline in the shared timer heap.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

import msgspec
import structlog

from actors.clock import Clock
from actors.outbound import OutboundProvider, SendResult, decode_outbound
from storage import outbox as outbox_store
from storage.outbox import DueSend
from storage.reader import Reader
from storage.timefmt import iso
from storage.writer import Writer

log = structlog.get_logger("outbox")
OUTBOX_TIMER_KEY = ("system", "outbox")


class OutboxSender:
    def __init__(
        self,
        *,
        reader: Reader,
        writer: Writer,
        provider: OutboundProvider,
        clock: Clock,
        schedule: Callable[[datetime | None], None],
        concurrency: int,
        max_attempts: int,
        retry_base: float,
        retry_max: float,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._provider = provider
        self._clock = clock
        self._schedule = schedule
        self._concurrency = concurrency
        self._max_attempts = max_attempts
        self._retry_base = retry_base
        self._retry_max = retry_max
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sending: dict[int, asyncio.Task[None]] = {}
        self._recipients: set[str] = set()
        self._draining = False
        self._dirty = True
        self._idle = asyncio.Event()
        self.sent = 0
        self.failed = 0
        self.retried = 0

    @property
    def idle(self) -> bool:
        return not self._sending and not self._draining and not self._wakeup.is_set()

    @property
    def in_flight(self) -> int:
        return len(self._sending)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="outbox-sender")
        self.wake()

    def wake(self) -> None:
        self._dirty = True
        self._idle.clear()
        self._wakeup.set()

    async def wait_idle(self) -> None:
        while not self.idle:
            self._idle.clear()
            await self._idle.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._sending:
            await asyncio.gather(*self._sending.values(), return_exceptions=True)
        self._set_idle_if_idle()

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            self._draining = True
            try:
                while self._dirty:
                    self._dirty = False
                    await self._drain()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox_drain_failed")
            finally:
                self._draining = False
                self._set_idle_if_idle()

    async def _drain(self) -> None:
        free = self._concurrency - len(self._sending)
        if free <= 0:
            return
        now_ts = self._clock.now().timestamp()
        rows = await outbox_store.due(self._reader, now_ts, limit=free * 4 + len(self._sending))
        for row in rows:
            if free <= 0:
                break
            if row.id in self._sending or row.recipient in self._recipients:
                continue
            free -= 1
            self._recipients.add(row.recipient)
            task = asyncio.get_running_loop().create_task(self._send(row))
            self._sending[row.id] = task
        upcoming = await outbox_store.next_attempt(self._reader)
        self._schedule(
            None
            if upcoming is None or upcoming <= now_ts
            else datetime.fromtimestamp(upcoming, UTC)
        )

    async def _send(self, row: DueSend) -> None:
        outbox_id = row.id
        try:
            message = msgspec.structs.replace(decode_outbound(row.body), outbox_id=outbox_id)
            try:
                result = await self._provider.send(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a provider bug must not lose the message
                log.exception("provider_send_raised", outbox_id=outbox_id)
                result = SendResult(ok=False, retryable=True, error_detail=repr(exc))
            await self._record(outbox_id, row.attempts, result)
        finally:
            self._sending.pop(outbox_id, None)
            self._recipients.discard(row.recipient)
            self.wake()

    async def _record(self, outbox_id: int, attempts: int, result: SendResult) -> None:
        now = self._clock.now()
        at = iso(now)
        if result.ok:
            self.sent += 1
            pid = result.provider_message_id or f"unknown.{outbox_id}"
            await self._writer.submit(
                partial(outbox_store.mark_sent, outbox_id=outbox_id, provider_message_id=pid, at=at)
            )
            return
        detail = result.error_detail or "send failed"
        if result.retryable and attempts + 1 < self._max_attempts:
            self.retried += 1
            delay = min(self._retry_max, result.retry_after or self._retry_base * 4**attempts)
            log.warning(
                "send_retry",
                outbox_id=outbox_id,
                code=result.error_code,
                detail=detail,
                in_seconds=delay,
            )
            await self._writer.submit(
                partial(
                    outbox_store.mark_retry,
                    outbox_id=outbox_id,
                    next_attempt_at=now.timestamp() + delay,
                    code=result.error_code,
                    detail=detail,
                    at=at,
                )
            )
            return
        self.failed += 1
        log.warning("send_failed", outbox_id=outbox_id, code=result.error_code, detail=detail)
        await self._writer.submit(
            partial(
                outbox_store.mark_failed,
                outbox_id=outbox_id,
                code=result.error_code,
                detail=detail,
                at=at,
            )
        )

    def _set_idle_if_idle(self) -> None:
        if self.idle:
            self._idle.set()
