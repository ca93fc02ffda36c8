"""The core assembled: writer, reader, clock, timers, actors, outbox sender, events.

Start-up order: database (migrations) -> clock -> timer heap rebuilt -> unprocessed inbox
replayed -> sender and timers started. Shutdown order: actors drain and stop -> sender
stops -> writer flushes -> connections close. (Intake is stopped by the gateway first.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import structlog

from actors.conversation.actor import ActorContext, ConversationActor
from actors.conversation.messages import Message, Wake, decode_event
from actors.conversation.policy import Policy
from actors.conversation.snapshot_loader import SnapshotLoader
from actors.desk.desk import AssignTo, Desk, Next, SessionEvent
from actors.intake.accept import IntakeItem, IntakeResult, accept
from actors.outbox.outbound import OutboundProvider
from actors.outbox.sender import OUTBOX_TIMER_KEY, OutboxSender
from actors.runtime.actor import Stop
from actors.runtime.clock import Clock, SystemClock, VirtualClock
from actors.runtime.events import EventBus
from actors.runtime.registry import Registry
from actors.runtime.timers import TimerService
from storage import conversations as conversation_store
from storage import inbox as inbox_store
from storage import kv
from storage.reader import Reader
from storage.timefmt import iso, parse_iso
from storage.writer import Writer

log = structlog.get_logger("runtime")
VIRTUAL_NOW_KEY = "virtual_clock_now"
REPLAY_MAX_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    """The runtime's knobs (from settings.toml, or a benchmark's choice)."""

    db_path: str
    synchronous: str = "FULL"
    writer_max_batch: int = 2000
    mailbox_size: int = 256
    passivate_after: float = 300.0
    outbox_concurrency: int = 32
    outbox_max_attempts: int = 8
    retry_base: float = 1.0
    retry_max: float = 3600.0


class Runtime:
    def __init__(
        self,
        config: RuntimeConfig,
        *,
        clock: Clock | None,
        clock_mode: str,
        provider: OutboundProvider,
        policy_for: Callable[[str], Policy],
    ) -> None:
        self.config = config
        self._clock_arg = clock
        self._clock_mode = clock_mode
        self.provider = provider
        self.policy_for = policy_for
        self.writer = Writer(
            config.db_path,
            synchronous=config.synchronous,  # type: ignore[arg-type]
            max_batch=config.writer_max_batch,
        )
        self.reader = Reader(config.db_path)
        self.events = EventBus()
        self.clock: Clock = clock or SystemClock()  # settled in start()
        self.timers: TimerService
        self.registry: Registry[ConversationActor]
        self.desk: Desk
        self.sender: OutboxSender
        self._passivator: asyncio.Task[None] | None = None
        self.started = False

    async def start(self) -> None:
        await self.writer.start()
        await self.reader.open()
        self.clock = await self._make_clock()
        self.timers = TimerService(self.clock, self._on_due)
        ctx = ActorContext(
            clock=self.clock,
            writer=self.writer,
            loader=SnapshotLoader(self.reader),
            policy_for=self.policy_for,
            schedule=self.timers.schedule,
            outbox_submit=lambda sends: self.sender.submit(sends),
            events=self.events,
        )
        self.registry = Registry(partial(ConversationActor, ctx=ctx), self.config.mailbox_size)
        self.desk = self._new_desk()
        self.events.subscribe(self._to_desk)
        self.sender = OutboxSender(
            reader=self.reader,
            writer=self.writer,
            provider=self.provider,
            clock=self.clock,
            schedule=partial(self.timers.schedule, OUTBOX_TIMER_KEY),
            concurrency=self.config.outbox_concurrency,
            max_attempts=self.config.outbox_max_attempts,
            retry_base=self.config.retry_base,
            retry_max=self.config.retry_max,
        )
        for key, ts in await conversation_store.wakeups(self.reader):
            self.timers.schedule(key, datetime.fromtimestamp(ts, UTC))
        replayed = await self._replay_inbox()
        self.sender.start()
        self.timers.start()
        self._passivator = asyncio.get_running_loop().create_task(self._passivate_loop())
        self.started = True
        log.info(
            "runtime_started", clock=self.clock.mode, timers=len(self.timers), replayed=replayed
        )

    async def stop(self) -> None:
        if not self.started:
            await self.writer.stop()
            return
        self.started = False
        if self._passivator is not None:
            self._passivator.cancel()
            await asyncio.gather(self._passivator, return_exceptions=True)
        self.timers.stop()
        if not self.desk.stopped:
            self.desk.tell(Stop(), force=True)
        await self.registry.stop()
        await self.sender.stop()
        await self.writer.stop()
        await self.reader.close()
        await self.provider.close()
        log.info("runtime_stopped")

    async def accept(self, items: list[IntakeItem]) -> IntakeResult:
        return await accept(items, writer=self.writer, registry=self.registry, now=self.clock.now())

    def tell(self, conversation_id: str, message: Message) -> None:
        self.registry.tell(conversation_id, message)

    async def ask(self, conversation_id: str, message: Message) -> Any:
        return await self.registry.ask(conversation_id, message)

    @property
    def idle(self) -> bool:
        return self.registry.idle and self.writer.idle and self.sender.idle

    async def wait_idle(self) -> None:
        """Quiescence: every mailbox, the writer and the outbox idle, nothing due."""
        while True:
            await asyncio.sleep(0)
            self.timers.fire_due()
            await self.registry.wait_idle()
            await self.writer.wait_idle()
            await self.sender.wait_idle()
            await asyncio.sleep(0)
            if self.idle and self.timers.fire_due() == 0 and self.idle:
                return

    async def advance_to(
        self, target: datetime, move: Callable[[datetime], Awaitable[None] | None]
    ) -> None:
        """Move time to `target` deadline by deadline, handling each in order: whatever a
        deadline schedules before `target` fires too, at its own instant."""
        await self.wait_idle()
        while True:
            upcoming = self.timers.earliest()
            if upcoming is None or upcoming > target:
                break
            await _maybe_await(move(max(upcoming, self.clock.now())))
            self.timers.poke()
            await self.wait_idle()
        await _maybe_await(move(target))
        self.timers.poke()
        await self.wait_idle()

    async def advance_virtual(self, seconds: float) -> datetime:
        """`POST /api/admin/clock/advance`: only for the virtual clock."""
        clock = self.clock
        assert isinstance(clock, VirtualClock)
        await self.advance_to(clock.now() + timedelta(seconds=seconds), clock.set)
        await self.writer.submit(partial(kv.put, key=VIRTUAL_NOW_KEY, value=iso(clock.now())))
        return clock.now()

    async def _make_clock(self) -> Clock:
        if self._clock_arg is not None:
            return self._clock_arg
        if self._clock_mode != "virtual":
            return SystemClock()
        stored = await kv.get(self.reader, VIRTUAL_NOW_KEY)
        if stored is not None:
            return VirtualClock(parse_iso(stored))
        start = SystemClock().now()  # once: the virtual clock starts at the real time
        await self.writer.submit(partial(kv.put, key=VIRTUAL_NOW_KEY, value=iso(start)))
        return VirtualClock(start)

    def _to_desk(self, event_type: str, data: dict[str, Any]) -> None:
        if event_type in ("session.created", "session.updated") and not self.desk.stopped:
            self.desk.tell(SessionEvent(data), force=True)

    async def ask_desk(self, message: Next | AssignTo) -> Any:
        if self.desk.stopped and self.started:
            log.error("desk_restarted")  # it failed on a bug; its index is rebuilt
            self.desk = self._new_desk()
        return await self.desk.ask(message, force=True)

    def _new_desk(self) -> Desk:
        return Desk(
            reader=self.reader,
            ask=self.registry.ask,
            on_busy=self.registry.track,
            capacity=self.policy_for("").assignment.max_active_per_operator,
        )

    def _on_due(self, key: Hashable) -> None:
        if key == OUTBOX_TIMER_KEY:
            self.sender.wake()
        else:
            self.registry.tell(str(key), Wake(), force=True)

    async def _replay_inbox(self) -> int:
        rows = await inbox_store.unprocessed(self.reader, REPLAY_MAX_ATTEMPTS)
        for row in rows:
            if row["payload"] is None or row["conversation_id"] is None:
                continue
            event = decode_event(bytes(row["payload"]))
            self.registry.tell(row["conversation_id"], event, inbox_id=row["id"], force=True)
        return len(rows)

    async def _passivate_loop(self) -> None:
        interval = max(1.0, self.config.passivate_after / 2)
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval)
            self.registry.passivate(loop.time() - self.config.passivate_after)


async def _maybe_await(value: Awaitable[None] | None) -> None:
    if value is not None:
        await value
