"""The core assembled: store, clock, timers, conversation actors, backlog, desk, outbox
sender and the event bus.

Start-up order: store (migrations) -> clock -> event numbering -> timer heap rebuilt ->
unprocessed inbox replayed -> sender and timers started. Shutdown order: timers stop ->
backlog stops -> desk and conversation actors drain and stop -> snapshot loader closes ->
sender lets its sends in flight finish -> store flushes and closes. (Intake is stopped by
the gateway first.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Literal

import structlog

from actors.conversation.actor import ActorContext, ConversationActor
from actors.conversation.events import Event
from actors.conversation.messages import Adopt, Identity, Message, Wake, decode_event
from actors.conversation.policy import Policy
from actors.conversation.snapshot_loader import SnapshotLoader
from actors.desk.desk import AssignTo, Desk, Next
from actors.intake.accept import accept
from actors.intake.admission import Admission
from actors.intake.backlog import Backlog
from actors.intake.identity import Resolver
from actors.intake.items import IntakeItem, IntakeResult
from actors.jobs.cron import zone
from actors.jobs.scheduler import Scheduler, is_job_key
from actors.maintenance.analysis import AnalysisSettings, Analyzer
from actors.maintenance.context import Maintenance
from actors.maintenance.history import HistoryMessage, HistorySource
from actors.maintenance.jobs import maintenance_jobs
from actors.maintenance.offline import OfflineAnalyzer
from actors.maintenance.settings import MaintenanceSettings
from actors.maintenance.stats import MaintenanceStats
from actors.maintenance.syncing import history_row
from actors.outbox.outbound import OutboundProvider
from actors.outbox.sender import OUTBOX_TIMER_KEY, OutboxSender
from actors.runtime.clock import Clock, SystemClock, VirtualClock
from actors.runtime.errors import MailboxFull
from actors.runtime.events import EventBus
from actors.runtime.registry import Registry
from actors.runtime.supervision import Supervisor
from actors.runtime.timers import TimerService
from storage.backends import open_store
from storage.store import Store
from storage.views import SessionView

log = structlog.get_logger("runtime")
VIRTUAL_NOW_KEY = "virtual_clock_now"
EVENT_EPOCH_KEY = "event_epoch"
REPLAY_MAX_ATTEMPTS = 3
# Each start numbers its events from a new epoch: epoch << 32, and on. So `seq` grows across
# restarts, and a dashboard that reconnects after one is told to reload, not sent a wrong
# replay. (2^21 restarts fit below JavaScript's 2^53.)
EPOCH_SHIFT = 32


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    """The runtime's knobs (from settings.toml, or a benchmark's choice)."""

    db_path: str
    synchronous: Literal["FULL", "NORMAL"] = "FULL"
    writer_max_batch: int = 2000
    mailbox_size: int = 256
    passivate_after: float = 300.0
    outbox_concurrency: int = 32
    outbox_max_attempts: int = 8
    retry_base: float = 1.0
    retry_max: float = 3600.0
    outbox_drain_seconds: float = 10.0
    events_kept: int = 10_000
    messages_per_second: float = 80.0
    outbox_max_queued: int = 10_000
    max_unprocessed: int = 10_000
    outbox_unconfirmed_grace: float = 30.0


class Runtime:
    def __init__(
        self,
        config: RuntimeConfig,
        *,
        clock: Clock | None,
        clock_mode: str,
        provider: OutboundProvider,
        policy_for: Callable[[str], Policy],
        store: Store | None = None,
        maintenance: MaintenanceSettings | None = None,
        analyzer: Analyzer | None = None,
        history: HistorySource | None = None,
    ) -> None:
        self.config = config
        self._clock_arg = clock
        self._clock_mode = clock_mode
        self.provider = provider
        self.policy_for = policy_for
        self.store = store or open_store(
            config.db_path, synchronous=config.synchronous, max_batch=config.writer_max_batch
        )
        self.events: EventBus[Event] = EventBus(keep=config.events_kept)
        self.clock: Clock = clock or SystemClock()  # settled in start()
        self.timers: TimerService
        self.registry: Registry[ConversationActor]
        self.backlog: Backlog
        self.sender: OutboxSender
        self._loader: SnapshotLoader
        self._desk: Supervisor[Desk]
        self.resolver: Resolver
        self.admission = Admission(config.max_unprocessed)
        self._passivator: asyncio.Task[None] | None = None
        self.started = False
        self.maintenance_settings = maintenance or MaintenanceSettings()
        self.analyzer: Analyzer = analyzer or OfflineAnalyzer(AnalysisSettings())
        self.history = history
        self.maintenance_stats = MaintenanceStats()
        self.jobs: Scheduler

    async def start(self) -> None:
        store = self.store
        await store.start()
        self.clock = await self._make_clock()
        epoch = int(await store.get_value(EVENT_EPOCH_KEY) or 0) + 1
        await store.put_value(EVENT_EPOCH_KEY, str(epoch))
        self.events.number_from(epoch << EPOCH_SHIFT)
        self.timers = TimerService(self.clock, self._on_due)
        self._loader = SnapshotLoader(store)
        self.resolver = Resolver(store)
        await self.resolver.start()
        ctx = ActorContext(
            clock=self.clock,
            store=store,
            loader=self._loader,
            policy_for=self.policy_for,
            schedule=self.timers.schedule,
            outbox_submit=lambda sends: self.sender.submit(sends),
            publish=self.events.publish,
            learn=self.resolver.learned,
            settled=self.admission.settled,
        )
        self.registry = Registry(
            partial(ConversationActor, ctx=ctx),
            self.config.mailbox_size,
            on_drained=lambda key: self.backlog.drained(key),
        )
        self.backlog = Backlog(store, self.registry, decode_event, REPLAY_MAX_ATTEMPTS)
        self._desk = Supervisor(self._new_desk)
        self.events.subscribe(self._to_desk)
        self.sender = OutboxSender(
            store=store,
            provider=self.provider,
            clock=self.clock,
            schedule=partial(self.timers.schedule, OUTBOX_TIMER_KEY),
            concurrency=self.config.outbox_concurrency,
            max_attempts=self.config.outbox_max_attempts,
            retry_base=self.config.retry_base,
            retry_max=self.config.retry_max,
            drain_seconds=self.config.outbox_drain_seconds,
            messages_per_second=self.config.messages_per_second,
            max_queued=self.config.outbox_max_queued,
            unconfirmed_grace=self.config.outbox_unconfirmed_grace,
        )
        for key, when in await store.wakeups():
            self.timers.schedule(key, when)
        self.maintenance = Maintenance(
            store=store,
            clock=self.clock,
            ask=self.ask,
            settings=self.maintenance_settings,
            analyzer=self.analyzer,
            history=self.history,
            stats=self.maintenance_stats,
        )
        self.jobs = Scheduler(
            maintenance_jobs(self.maintenance),
            clock=self.clock,
            store=store,
            schedule=self.timers.schedule,
            tz=zone(self.maintenance_settings.jobs.timezone),
        )
        await self.jobs.start()
        self.backlog.start()
        replayed = await self.backlog.replay(self.admission.found)
        self.sender.start()
        self.timers.start()
        self._passivator = asyncio.get_running_loop().create_task(
            self._passivate_loop(), name="passivator"
        )
        self.started = True
        log.info(
            "runtime_started", clock=self.clock.mode, timers=len(self.timers), replayed=replayed
        )

    async def stop(self) -> None:
        if not self.started:
            await self.store.stop()
            return
        self.started = False
        if self._passivator is not None:
            self._passivator.cancel()
            await asyncio.gather(self._passivator, return_exceptions=True)
        self.timers.stop()
        await self.jobs.stop()
        await self.backlog.stop()
        self._desk.close()
        await self.registry.stop()
        await self._loader.close()
        await self.sender.stop()
        await self.store.stop()
        await self.provider.close()
        await self.analyzer.close()
        if self.history is not None:
            await self.history.close()
        log.info("runtime_stopped")

    async def accept(self, items: list[IntakeItem]) -> IntakeResult:
        return await accept(
            items,
            store=self.store,
            backlog=self.backlog,
            resolver=self.resolver,
            admission=self.admission,
            now=self.clock.now(),
        )

    async def import_history(
        self, business_id: str, messages: list[tuple[str, HistoryMessage]]
    ) -> tuple[int, int]:
        """History pushed by the provider (the Cloud API's `history` webhooks): per customer,
        the conversation made sure of, then its messages imported idempotently; (inserted,
        updated)."""
        by_phone: dict[str, list[HistoryMessage]] = {}
        for phone, message in messages:
            by_phone.setdefault(phone, []).append(message)
        inserted = updated = 0
        now = self.clock.now()
        for phone, found in by_phone.items():
            cid = self.resolver.for_phone(business_id, phone)
            await self.ask(cid, Adopt(Identity(business_id, phone, phone)))
            rows = [history_row(cid, m) for m in found]
            new, changed = await self.store.import_history(cid, rows, now)
            inserted, updated = inserted + new, updated + changed
        return inserted, updated

    def tell(self, conversation_id: str, message: Message) -> None:
        self.registry.tell(conversation_id, message)

    async def ask(self, conversation_id: str, message: Message) -> Any:
        return await self.registry.ask(conversation_id, message)

    @property
    def desk(self) -> Desk:
        return self._desk.actor

    async def ask_desk(self, message: Next | AssignTo) -> Any:
        """MailboxFull when the desk has too much to do (the edge answers 503)."""
        return await self._desk.actor.ask(message)

    @property
    def idle(self) -> bool:
        return (
            self.registry.idle
            and self.backlog.idle
            and self.store.idle
            and self.sender.idle
            and self.jobs.idle
        )

    async def wait_idle(self) -> None:
        """Quiescence: every mailbox, the backlog, the store and the outbox idle, nothing
        due."""
        while True:
            await asyncio.sleep(0)
            self.timers.fire_due()
            await self.registry.wait_idle()
            await self.backlog.wait_idle()
            await self.store.wait_idle()
            await self.sender.wait_idle()
            await self.jobs.wait_idle()
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
        await self.store.put_value(VIRTUAL_NOW_KEY, clock.now().isoformat())
        return clock.now()

    async def _make_clock(self) -> Clock:
        if self._clock_arg is not None:
            return self._clock_arg
        if self._clock_mode != "virtual":
            return SystemClock()
        stored = await self.store.get_value(VIRTUAL_NOW_KEY)
        if stored is not None:
            return VirtualClock(datetime.fromisoformat(stored).astimezone(UTC))
        start = SystemClock().now()  # once: the virtual clock starts at the real time
        await self.store.put_value(VIRTUAL_NOW_KEY, start.isoformat())
        return VirtualClock(start)

    def _to_desk(self, _seq: int, event: Event) -> None:
        if event.type in ("session.created", "session.updated") and isinstance(
            event.data, SessionView
        ):
            self._desk.actor.hear(event.data)

    def _new_desk(self) -> Desk:
        return Desk(
            store=self.store,
            ask=self.registry.ask,
            on_busy=self.registry.track,
            capacity=self.policy_for("").assignment.max_active_per_operator,
        )

    def _on_due(self, key: Hashable) -> None:
        if key == OUTBOX_TIMER_KEY:
            self.sender.wake()
            return
        if is_job_key(key):
            self.jobs.due(key)
            return
        try:
            self.registry.tell(str(key), Wake())
        except MailboxFull:
            # Mail is queued there already: the step that handles it handles every deadline
            # that is due first, and re-arms the timer after its commit.
            pass

    async def _passivate_loop(self) -> None:
        interval = max(1.0, self.config.passivate_after / 2)
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval)
            self.registry.passivate(loop.time() - self.config.passivate_after)


async def _maybe_await(value: Awaitable[None] | None) -> None:
    if value is not None:
        await value
