"""Seed 002's metrics on `/metrics`: archives (in all, and in the last day), messages
archived, space freed, metadata updates, the sync success rate and a histogram of sync
durations; and whether an alert holds."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from actors.maintenance.stats import SYNC_BUCKETS, MaintenanceStats


class MaintenanceSource:
    def __init__(self, stats: MaintenanceStats, now: Callable[[], datetime]) -> None:
        self._stats = stats
        self._now = now

    async def families(self) -> Iterable[Metric]:
        s = self._stats
        counters = (
            ("gateway_archives_total", "conversations archived", s.archived_conversations),
            ("gateway_archived_messages_total", "messages archived", s.archived_messages),
            ("gateway_cleanup_freed_bytes_total", "bytes cleanups freed", s.space_freed_bytes),
            ("gateway_metadata_updates_total", "analyses stored", s.metadata_updates),
            ("gateway_syncs_total", "chat history syncs", s.syncs),
            ("gateway_sync_failures_total", "syncs that failed", s.sync_failures),
            ("gateway_synced_messages_total", "messages syncs stored", s.synced_messages),
        )
        found: list[Metric] = [CounterMetricFamily(n, h, value=v) for n, h, v in counters]
        found.append(
            GaugeMetricFamily(
                "gateway_archives_last_day",
                "conversations archived in the last 24 hours",
                value=s.archives_last_day(self._now()),
            )
        )
        found.append(
            GaugeMetricFamily(
                "gateway_sync_success_ratio",
                "syncs that succeeded, of all (1 before any)",
                value=s.sync_success_ratio,
            )
        )
        buckets = [
            (str(b), float(c)) for b, c in zip(SYNC_BUCKETS, s.sync_bucket_counts, strict=True)
        ]
        buckets.append(("+Inf", float(s.syncs)))
        found.append(
            HistogramMetricFamily(
                "gateway_sync_duration_seconds",
                "how long a chat's history sync took",
                buckets=buckets,
                sum_value=s.sync_seconds_sum,
            )
        )
        alerts = GaugeMetricFamily(
            "gateway_alert", "1 while a maintenance alert holds", labels=["alert"]
        )
        for name in ("sync_failing", "database_size", "archive_slow"):
            holds = any(key.split(":")[0] == name for key in s.alerts)
            alerts.add_metric([name], 1.0 if holds else 0.0)
        found.append(alerts)
        return found
