"""/metrics: prometheus-client renders the runtime's families, one registry per app."""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY
from prometheus_client.metrics_core import HistogramMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families

import gateway.metrics
from gateway.metrics import METRICS, GatewayMetrics, Reading, Readings, RuntimeSource
from tests.conftest import MakeSim
from tests.sim import Sim, settings_for

PHONE = "447700900123"

# The exposition before prometheus-client, as dashboards and alerts know it: name, type, help.
OLD = (
    ("gateway_actors_live", "gauge", "conversation actors in memory"),
    ("gateway_actors_busy", "gauge", "actors with mail"),
    ("gateway_mailbox_depth", "gauge", "queued mail"),
    ("gateway_actors_spawned_total", "counter", "actors started"),
    ("gateway_actors_passivated_total", "counter", "idle actors dropped from memory"),
    ("gateway_timers_pending", "gauge", "deadlines in the heap"),
    ("gateway_timers_fired_total", "counter", "deadlines fired"),
    ("gateway_writer_backlog", "gauge", "writes waiting to commit"),
    ("gateway_writer_batches_total", "counter", "group commits"),
    ("gateway_writer_writes_total", "counter", "writes committed"),
    ("gateway_writer_largest_batch", "gauge", "largest group commit"),
    ("gateway_outbox_in_flight", "gauge", "sends in flight"),
    ("gateway_outbox_sent_total", "counter", "sends accepted"),
    ("gateway_outbox_failed_total", "counter", "sends given up"),
    ("gateway_outbox_retried_total", "counter", "sends retried"),
    ("gateway_events_published_total", "counter", "dashboard events"),
    ("gateway_sessions_open", "gauge", "open agent sessions"),
    ("gateway_sessions_waiting", "gauge", "sessions waiting for an operator"),
    (
        "gateway_conversations_parked",
        "gauge",
        "conversations whose later events wait in the inbox",
    ),
    (
        "gateway_timer_lateness_max_seconds",
        "gauge",
        "the latest of the recent deadlines' firing delays",
    ),
    ("gateway_outbox_rows", "gauge", "outbox rows by status"),
)


def samples(text: str) -> dict[tuple[str, str], float]:
    """Exposed sample name and its `status` label (or "") to value."""
    return {
        (s.name, s.labels.get("status", "")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def exposed(text: str) -> dict[str, tuple[str, str]]:
    """Each exposed sample name to its family's type and help."""
    return {
        s.name: (family.type, family.documentation)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def scrape(sim: Sim) -> str:
    text: str = await sim.api("GET", "/metrics", token=None)
    return text


async def test_every_old_metric_keeps_its_name_type_and_help(sim: Sim) -> None:
    """After a customer message, /metrics exposes the old names, types and helps (and seed
    002's maintenance families beside them)."""
    await sim.customer_says(PHONE, "hi")
    text = await scrape(sim)
    old = {name: (kind, help_text) for name, kind, help_text in OLD}
    assert {k: v for k, v in exposed(text).items() if k in old} == old
    for name, kind, help_text in OLD:
        assert f"# HELP {name} {help_text}\n" in text
        assert f"# TYPE {name} {kind}\n" in text
    values = samples(text)
    assert all(math.isfinite(v) and v >= 0 for v in values.values())
    assert values["gateway_actors_live", ""] == 1
    assert values["gateway_actors_spawned_total", ""] == 1
    assert values["gateway_writer_writes_total", ""] >= values["gateway_writer_batches_total", ""]
    assert values["gateway_writer_batches_total", ""] >= 1
    assert values["gateway_outbox_sent_total", ""] == 1
    assert values["gateway_events_published_total", ""] >= 1
    assert values["gateway_outbox_rows", "sent"] == 1
    assert values["gateway_outbox_rows", "pending"] == values["gateway_outbox_rows", "failed"] == 0


async def test_two_apps_do_not_share_a_registry(
    sim: Sim, make_sim: MakeSim, tmp_path: Path
) -> None:
    """Each app scrapes its own runtime once; nothing lands in the process-global registry."""
    other = await make_sim(settings_for(tmp_path / "other.db"))
    await sim.customer_says(PHONE, "hi")
    first, second = await scrape(sim), await scrape(other)
    assert samples(first)["gateway_outbox_sent_total", ""] == 1
    assert samples(second)["gateway_outbox_sent_total", ""] == 0
    for text in (first, second):
        assert text.count("# TYPE gateway_outbox_sent_total ") == 1
    assert REGISTRY.get_sample_value("gateway_outbox_sent_total") is None
    assert sim.client.app[METRICS].registry is not other.client.app[METRICS].registry
    a, b = GatewayMetrics([RuntimeSource(sim.runtime)]), GatewayMetrics()
    assert a.registry is not b.registry
    assert samples((await b.scrape()).decode()) == {}


async def test_the_response_is_prometheus_text(sim: Sim) -> None:
    """The response carries prometheus-client's content type and `nosniff`."""
    response = await GatewayMetrics([RuntimeSource(sim.runtime)]).response()
    assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert isinstance(response.body, bytes)
    assert ("gateway_actors_live", "") in samples(response.body.decode())
    served = await sim.client.get("/metrics")
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Type"] == CONTENT_TYPE_LATEST


@dataclass
class SyncStats:
    archived: int = 0
    ratio: float = 1.0


SYNC = (
    Reading[SyncStats]("gateway_archives_total", "counter", "archives made", lambda s: s.archived),
    Reading[SyncStats]("gateway_sync_success_ratio", "gauge", "syncs ok", lambda s: s.ratio),
)


class SyncDurations:
    async def families(self) -> Iterable[Metric]:
        buckets = [("1.0", 1.0), ("+Inf", 2.0)]
        return [HistogramMetricFamily("gateway_sync_seconds", "sync runs", buckets, 3.5)]


async def test_added_sources_are_read_afresh_at_each_scrape(sim: Sim) -> None:
    """A readings table and a histogram source join the runtime's; every scrape rereads all."""
    stats = SyncStats()
    metrics = GatewayMetrics([RuntimeSource(sim.runtime), Readings(stats, SYNC)])
    metrics.add(SyncDurations())
    before = samples((await metrics.scrape()).decode())
    stats.archived, stats.ratio = 3, 0.5
    await sim.customer_says(PHONE, "hi")
    text = (await metrics.scrape()).decode()
    after = samples(text)
    assert (before["gateway_archives_total", ""], after["gateway_archives_total", ""]) == (0, 3)
    assert after["gateway_sync_success_ratio", ""] == 0.5
    assert (before["gateway_outbox_rows", "sent"], after["gateway_outbox_rows", "sent"]) == (0, 1)
    assert "# TYPE gateway_archives_total counter\n" in text
    assert "# TYPE gateway_sync_seconds histogram\n" in text
    assert after["gateway_sync_seconds_count", ""] == 2
    assert exposed(text)["gateway_sync_seconds_bucket"] == ("histogram", "sync runs")


def test_a_counter_reading_is_named_as_exposed() -> None:
    """A counter without `_total` is refused: prometheus-client would expose another name."""
    with pytest.raises(ValueError, match="_total"):
        Reading[SyncStats]("gateway_archives", "counter", "archives made", lambda s: s.archived)


def test_the_module_writes_no_exposition_text() -> None:
    """gateway.metrics builds no Prometheus text itself: generate_latest renders it."""
    source = inspect.getsource(gateway.metrics)
    assert "# HELP" not in source and "# TYPE" not in source
    assert "generate_latest(self.registry)" in source


async def test_maintenance_metrics(sim: Sim) -> None:
    """Seed 002's metrics: archives, messages archived, space freed, metadata updates, the
    sync success rate and durations, and the alerts."""
    text = await scrape(sim)
    kinds = exposed(text)
    for name, kind in (
        ("gateway_archives_total", "counter"),
        ("gateway_archives_last_day", "gauge"),
        ("gateway_archived_messages_total", "counter"),
        ("gateway_cleanup_freed_bytes_total", "counter"),
        ("gateway_metadata_updates_total", "counter"),
        ("gateway_sync_success_ratio", "gauge"),
        ("gateway_sync_duration_seconds_count", "histogram"),
        ("gateway_alert", "gauge"),
    ):
        assert kinds[name][0] == kind, name
    values = samples(text)
    assert values["gateway_sync_success_ratio", ""] == 1.0
    alerts = {
        s.labels["alert"]: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "gateway_alert"
    }
    assert alerts == {"sync_failing": 0.0, "database_size": 0.0, "archive_slow": 0.0}
