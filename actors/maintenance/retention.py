"""The cleanup job (seed 002): archives past their retention, orphaned rows and old
processed webhook events removed; statistics refreshed; free pages given back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from actors.jobs.scheduler import JobRun
from actors.maintenance.context import Maintenance, log


async def cleanup_job(m: Maintenance, run: JobRun) -> dict[str, Any]:
    """`params`: `archive_retention_days`, `inbox_retention_days`, `remove_orphans`,
    `optimize_tables`, `dry_run` (each defaults to `[cleanup]`)."""
    settings = m.settings.cleanup
    p = run.params
    now = m.clock.now()
    archive_days = float(p.get("archive_retention_days", settings.archive_retention_days))
    inbox_days = float(p.get("inbox_retention_days", settings.inbox_retention_days))
    report = await m.store.cleanup(
        archive_before=cutoff(now, archive_days),
        inbox_before=cutoff(now, inbox_days),
        remove_orphans=bool(p.get("remove_orphans", settings.remove_orphans)),
        optimize=bool(p.get("optimize_tables", settings.optimize_tables)),
        dry_run=bool(p.get("dry_run", False)),
    )
    if not report.dry_run:
        m.stats.space_freed_bytes += report.space_freed_bytes
    stats = await m.store.database_stats()
    limit = m.settings.alerts.database_max_bytes
    too_big = stats.file_bytes > limit
    m.stats.alert(
        "database_size",
        f"the database is {stats.file_bytes} bytes, over {limit}" if too_big else None,
    )
    if too_big:
        log.error("database_too_large", bytes=stats.file_bytes, limit=limit)
    return {
        "dry_run": report.dry_run,
        "deleted_archives": report.deleted_archives,
        "archive_bytes": report.archive_bytes,
        "orphans_removed": report.orphan_messages + report.orphan_journal + report.orphan_outbox,
        "orphan_messages": report.orphan_messages,
        "orphan_journal": report.orphan_journal,
        "orphan_outbox": report.orphan_outbox,
        "inbox_removed": report.inbox_removed,
        "tables_optimized": report.optimized,
        "file_bytes_before": report.file_bytes_before,
        "file_bytes_after": report.file_bytes_after,
        "space_freed_bytes": report.space_freed_bytes,
        "space_freed_mb": round(report.space_freed_bytes / 1024**2, 3),
    }


def cutoff(now: datetime, days: float) -> datetime | None:
    """The instant `days` before `now`, or None (no retention) for 0 or less. A retention
    longer than the calendar goes back keeps everything (the first instant there is)."""
    if not days > 0:
        return None
    try:
        return now - timedelta(days=days)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC)
