"""Seed 002's settings: the job schedules (`[jobs]`), archiving (`[archive]`), retention
(`[cleanup]`), history sync (`[sync]`), metadata (`[metadata]`) and alerts (`[alerts]`)."""

from __future__ import annotations

from typing import Literal

import msgspec


class JobSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Cron expressions in `timezone`; "" turns a job off. Seed 002's times."""

    timezone: str = "UTC"
    cleanup: str = "0 2 * * *"
    archive: str = "0 3 * * *"
    sync: str = "*/30 * * * *"
    metadata: str = "0 4 * * sun"


class ArchiveSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Which conversations the archive job takes (0 turns a criterion off). A conversation's
    own `auto_archive_after_days` replaces `after_days` for it."""

    after_days: float = 90.0  # older than this
    inactive_after_days: float = 60.0  # no activity for this long
    completed: bool = True  # closed conversations (e.g. by an inactivity timeout)
    compress: bool = True  # gzip the archived messages
    batch: int = 1000  # conversations taken per run, at most


class CleanupSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    archive_retention_days: float = 365.0  # archives older than this are deleted
    inbox_retention_days: float = 30.0  # processed webhook events kept this long (> 7 days)
    remove_orphans: bool = True
    optimize_tables: bool = True


class SyncSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """History sync: which source (`auto`: WATI's history API when the provider is WATI;
    the Cloud API has none, its history comes by `history` webhooks), and the retries."""

    source: Literal["auto", "wati", "none"] = "auto"
    max_retries: int = 3
    retry_base_seconds: float = 60.0  # backoff: base * 4^retry
    full_every_hours: float = 24.0  # an incremental sync becomes full after this long
    batch: int = 200  # conversations per run


class MetadataSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    analyze_messages: bool = True  # sentiment, category and tags of new customer messages
    auto_analyze: bool = True  # a summary of each conversation active since the last run
    batch: int = 500


class AlertSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    sync_failures: int = 3  # a chat's sync failing this many times in a row
    database_max_bytes: int = 10 * 1024**3
    archive_max_seconds: float = 3600.0


class MaintenanceSettings(msgspec.Struct, frozen=True):
    """All of them, as the jobs read them."""

    jobs: JobSettings = JobSettings()
    archive: ArchiveSettings = ArchiveSettings()
    cleanup: CleanupSettings = CleanupSettings()
    sync: SyncSettings = SyncSettings()
    metadata: MetadataSettings = MetadataSettings()
    alerts: AlertSettings = AlertSettings()
