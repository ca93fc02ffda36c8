"""`/metrics`: one prometheus-client registry per app, read from the runtime at each scrape.

The exposition is prometheus-client's (`generate_latest`); this module only says which
families there are. A scrape awaits every source's `families()` (so values that need the
store, like the outbox rows, are as fresh as the rest), hands the result to the registry's
one collector, and renders the registry at once, with no await in between.

Adding families from a stats object is a table of readings::

    MAINTENANCE: tuple[Reading[MaintenanceStats], ...] = (
        Reading("gateway_archives_total", "counter", "archives made", lambda s: s.archived),
        Reading("gateway_sync_success_ratio", "gauge", "syncs that succeeded", lambda s: s.ratio),
    )
    metrics = GatewayMetrics([RuntimeSource(runtime), Readings(stats, MAINTENANCE)])

and anything else (labels, histograms, store queries) is a `MetricsSource`::

    class SyncDurations:
        def __init__(self, stats: SyncStats) -> None:
            self._stats = stats

        async def families(self) -> Iterable[Metric]:
            family = HistogramMetricFamily("gateway_sync_duration_seconds", "sync runs")
            family.add_metric([], self._stats.cumulative_buckets(), self._stats.seconds)
            return [family]

    metrics.add(SyncDurations(stats))

Names are the exposed ones: a counter's ends in `_total` (prometheus-client appends it to the
family name, so `Reading` refuses a counter without it). Label values must stay bounded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, Protocol, TypeVar

import msgspec
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from actors.system import Runtime

S = TypeVar("S")
Kind = Literal["gauge", "counter"]
OUTBOX_STATUSES = ("pending", "sent", "failed")


class MetricsSource(Protocol):
    """Something that can say its metric families now (awaited at every scrape)."""

    async def families(self) -> Iterable[Metric]: ...


@dataclass(frozen=True)
class Reading(Generic[S]):
    """One unlabelled gauge or counter, read from a stats object `S` at scrape time."""

    name: str
    kind: Kind
    help: str
    read: Callable[[S], float]

    def __post_init__(self) -> None:
        if self.kind == "counter" and not self.name.endswith("_total"):
            raise ValueError(f"counter {self.name!r} must be named as exposed, ending in _total")

    def family(self, stats: S) -> Metric:
        family = CounterMetricFamily if self.kind == "counter" else GaugeMetricFamily
        return family(self.name, self.help, value=self.read(stats))


@dataclass(frozen=True)
class Readings(Generic[S]):
    """A stats object with its table of readings: the usual `MetricsSource`."""

    stats: S
    table: Sequence[Reading[S]]

    async def families(self) -> Iterable[Metric]:
        return [reading.family(self.stats) for reading in self.table]


RUNTIME: tuple[Reading[Runtime], ...] = (
    Reading(
        "gateway_actors_live", "gauge", "conversation actors in memory", lambda r: len(r.registry)
    ),
    Reading("gateway_actors_busy", "gauge", "actors with mail", lambda r: r.registry.busy),
    Reading("gateway_mailbox_depth", "gauge", "queued mail", lambda r: r.registry.mailbox_depth()),
    Reading(
        "gateway_actors_spawned_total", "counter", "actors started", lambda r: r.registry.spawned
    ),
    Reading(
        "gateway_actors_passivated_total",
        "counter",
        "idle actors dropped from memory",
        lambda r: r.registry.passivated,
    ),
    Reading("gateway_timers_pending", "gauge", "deadlines in the heap", lambda r: len(r.timers)),
    Reading("gateway_timers_fired_total", "counter", "deadlines fired", lambda r: r.timers.fired),
    Reading(
        "gateway_writer_backlog", "gauge", "writes waiting to commit", lambda r: r.store.backlog
    ),
    Reading(
        "gateway_writer_batches_total", "counter", "group commits", lambda r: r.store.stats.batches
    ),
    Reading(
        "gateway_writer_writes_total", "counter", "writes committed", lambda r: r.store.stats.writes
    ),
    Reading(
        "gateway_writer_largest_batch",
        "gauge",
        "largest group commit",
        lambda r: r.store.stats.largest_batch,
    ),
    Reading("gateway_outbox_in_flight", "gauge", "sends in flight", lambda r: r.sender.in_flight),
    Reading("gateway_outbox_sent_total", "counter", "sends accepted", lambda r: r.sender.sent),
    Reading("gateway_outbox_failed_total", "counter", "sends given up", lambda r: r.sender.failed),
    Reading("gateway_outbox_retried_total", "counter", "sends retried", lambda r: r.sender.retried),
    Reading(
        "gateway_events_published_total",
        "counter",
        "dashboard events",
        lambda r: r.events.published,
    ),
    Reading("gateway_sessions_open", "gauge", "open agent sessions", lambda r: len(r.desk.index)),
    Reading(
        "gateway_sessions_waiting",
        "gauge",
        "sessions waiting for an operator",
        lambda r: len(r.desk.index.waiting()),
    ),
    Reading(
        "gateway_conversations_parked",
        "gauge",
        "conversations whose later events wait in the inbox",
        lambda r: r.backlog.parked,
    ),
    Reading(
        "gateway_intake_unprocessed",
        "gauge",
        "webhook events stored and not yet processed (counted against [intake] max_unprocessed)",
        lambda r: r.admission.unprocessed,
    ),
    Reading(
        "gateway_timer_lateness_max_seconds",
        "gauge",
        "the latest of the recent deadlines' firing delays",
        lambda r: max(r.timers.lateness, default=0.0),
    ),
)


class RuntimeSource:
    """The runtime's queues, actors, timers, writer and outbox, with the outbox rows by status."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def families(self) -> Iterable[Metric]:
        counts = msgspec.structs.asdict(await self._runtime.store.outbox_counts())
        rows = GaugeMetricFamily("gateway_outbox_rows", "outbox rows by status", labels=["status"])
        for status in OUTBOX_STATUSES:
            rows.add_metric([status], counts.get(status, 0))
        shed = CounterMetricFamily(
            "gateway_webhooks_shed", "webhooks answered 503 under load", labels=["reason"]
        )
        for reason, count in sorted(self._runtime.admission.shed.items()):
            shed.add_metric([reason], count)
        return [*(reading.family(self._runtime) for reading in RUNTIME), rows, shed]


class _Snapshot:
    """The registry's collector: yields the families the current scrape just gathered."""

    def __init__(self) -> None:
        self.families: list[Metric] = []

    def collect(self) -> Iterable[Metric]:
        return self.families


class GatewayMetrics:
    """One app's metrics: a registry of its own (never the process-global one) and sources."""

    def __init__(self, sources: Iterable[MetricsSource] = ()) -> None:
        self.registry = CollectorRegistry()
        self._sources = list(sources)
        self._snapshot = _Snapshot()
        self.registry.register(self._snapshot)

    def add(self, source: MetricsSource) -> None:
        self._sources.append(source)

    async def scrape(self) -> bytes:
        """Gather every source, then render the registry (no await between the two)."""
        self._snapshot.families = [
            family for source in self._sources for family in await source.families()
        ]
        return generate_latest(self.registry)

    async def response(self) -> web.Response:
        return web.Response(
            body=await self.scrape(),
            headers={"Content-Type": CONTENT_TYPE_LATEST, "X-Content-Type-Options": "nosniff"},
        )


METRICS = web.AppKey("metrics", GatewayMetrics)
