"""What the maintenance jobs have done, for `/metrics` (seed 002's metrics) and the alerts
that `/healthz` lists (seed 002's: sync failing, database too large, archiving too slow)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# Sync durations are counted in these buckets (seconds), for a histogram.
SYNC_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0)


@dataclass
class MaintenanceStats:
    archived_conversations: int = 0
    archived_messages: int = 0
    restored_messages: int = 0
    archive_bytes: int = 0
    space_freed_bytes: int = 0
    metadata_updates: int = 0
    syncs: int = 0
    sync_failures: int = 0
    synced_messages: int = 0
    sync_seconds_sum: float = 0.0
    sync_bucket_counts: list[int] = field(default_factory=lambda: [0] * len(SYNC_BUCKETS))
    archived_at: deque[datetime] = field(default_factory=lambda: deque(maxlen=100_000))
    alerts: dict[str, str] = field(default_factory=dict)

    def archived(self, at: datetime, messages: int, stored_bytes: int) -> None:
        self.archived_conversations += 1
        self.archived_messages += messages
        self.archive_bytes += stored_bytes
        self.archived_at.append(at)

    def archives_last_day(self, now: datetime) -> int:
        since = now - timedelta(days=1)
        return sum(1 for at in self.archived_at if at > since)

    def synced(self, seconds: float, ok: bool, messages: int) -> None:
        self.syncs += 1
        self.sync_failures += int(not ok)
        self.synced_messages += messages
        self.sync_seconds_sum += seconds
        for i, bound in enumerate(SYNC_BUCKETS):
            if seconds <= bound:
                self.sync_bucket_counts[i] += 1

    @property
    def sync_success_ratio(self) -> float:
        return 1.0 if self.syncs == 0 else (self.syncs - self.sync_failures) / self.syncs

    def alert(self, name: str, message: str | None) -> None:
        """Raise (with a message) or clear (None) one alert."""
        if message is None:
            self.alerts.pop(name, None)
        else:
            self.alerts[name] = message
