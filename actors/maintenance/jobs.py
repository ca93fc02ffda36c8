"""Seed 002's four scheduled jobs, as the scheduler runs them."""

from __future__ import annotations

from functools import partial

from actors.jobs.scheduler import Job
from actors.maintenance.archiving import archive_job
from actors.maintenance.context import Maintenance
from actors.maintenance.metadata import metadata_job
from actors.maintenance.retention import cleanup_job
from actors.maintenance.syncing import sync_job


def maintenance_jobs(m: Maintenance) -> list[Job]:
    schedules = m.settings.jobs
    return [
        Job("cleanup", schedules.cleanup, partial(cleanup_job, m)),
        Job("archive", schedules.archive, partial(archive_job, m)),
        # Without a history source there is nothing to read: the sync runs only when asked.
        Job("sync", schedules.sync if m.history is not None else "", partial(sync_job, m)),
        Job("metadata", schedules.metadata, partial(metadata_job, m)),
    ]
