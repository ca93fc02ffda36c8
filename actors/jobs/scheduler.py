"""The scheduled jobs: each a cron schedule whose next run is a deadline in the runtime's
timer heap (key `("job", name)`), stored with the job's last result, so that a schedule
survives restarts, fires once for runs missed while the gateway was down, and moves with the
virtual clock. A job runs as a task of its own; one already running is not started again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import msgspec
import structlog

from actors.jobs.cron import next_after
from actors.runtime.clock import Clock
from storage.store import Store
from storage.views import JobState

log = structlog.get_logger("jobs")
Trigger = Literal["schedule", "api"]


@dataclass(frozen=True)
class JobRun:
    """One run: its trigger and the parameters the API passed."""

    name: str
    trigger: Trigger
    started_at: datetime
    params: dict[str, Any] = field(default_factory=dict)
    previous_run_at: datetime | None = None  # when this job last ran


JobFn = Callable[[JobRun], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Job:
    name: str
    schedule: str  # cron; "" = only when asked
    run: JobFn


class JobRunning(Exception):
    """The job is running already (the API answers 409)."""


class UnknownJob(KeyError):
    pass


class JobInfo(msgspec.Struct, frozen=True):
    """`GET /api/jobs`: a job, its schedule and how its last run went."""

    name: str
    schedule: str
    timezone: str
    running: bool
    next_run_at: datetime | None
    last_run_at: datetime | None
    last_result: dict[str, Any] | None
    last_duration_seconds: float | None
    last_error: str | None
    runs: int


def job_key(name: str) -> tuple[str, str]:
    return ("job", name)


def is_job_key(key: Hashable) -> bool:
    return isinstance(key, tuple) and len(key) == 2 and key[0] == "job"


class Scheduler:
    def __init__(
        self,
        jobs: list[Job],
        *,
        clock: Clock,
        store: Store,
        schedule: Callable[[Hashable, datetime | None], None],
        tz: ZoneInfo,
    ) -> None:
        self._jobs = {job.name: job for job in jobs}
        self._clock = clock
        self._store = store
        self._schedule = schedule
        self._tz = tz
        self._states: dict[str, JobState] = {}
        self._running: dict[str, asyncio.Task[JobState]] = {}

    @property
    def names(self) -> list[str]:
        return list(self._jobs)

    @property
    def idle(self) -> bool:
        return not self._running

    async def start(self) -> None:
        """Arm each schedule: the stored next run if there is one (a run missed while down
        fires at once, once), else the schedule's next instant from now."""
        stored = {s.name: s for s in await self._store.jobs()}
        now = self._clock.now()
        for job in self._jobs.values():
            state = stored.get(job.name) or JobState(job.name, None, None, None, None, None, 0)
            upcoming = state.next_run_at if job.schedule else None
            if job.schedule and upcoming is None:
                upcoming = next_after(job.schedule, now, self._tz)
            state = msgspec.structs.replace(state, next_run_at=upcoming)
            self._states[job.name] = state
            await self._store.save_job(state, now)
            self._schedule(job_key(job.name), upcoming)

    async def stop(self) -> None:
        """Cancel what runs: every job writes in short committed chunks, so it stops
        between two and the next run carries on."""
        for task in self._running.values():
            task.cancel()
        await asyncio.gather(*self._running.values(), return_exceptions=True)
        self._running.clear()

    async def wait_idle(self) -> None:
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    def due(self, key: Hashable) -> None:
        """A schedule's deadline: start the run (a run still going is left alone and the
        schedule moves on)."""
        name = str(key[1]) if isinstance(key, tuple) else str(key)
        if name not in self._jobs:
            return
        if name in self._running:
            log.warning("job_overlap", job=name)
            self._arm_next(name)
            return
        self._start(name, "schedule", {})

    async def run_now(self, name: str, params: dict[str, Any] | None = None) -> JobState:
        """Run a job now and wait for it (JobRunning if it is running). The run goes on if
        the caller leaves."""
        if name not in self._jobs:
            raise UnknownJob(name)
        if name in self._running:
            raise JobRunning(name)
        task = self._start(name, "api", params or {})
        return await asyncio.shield(task)

    def infos(self) -> list[JobInfo]:
        return [self.info(name) for name in self._jobs]

    def info(self, name: str) -> JobInfo:
        job, state = self._jobs[name], self._states[name]
        return JobInfo(
            name=name,
            schedule=job.schedule,
            timezone=str(self._tz),
            running=name in self._running,
            next_run_at=state.next_run_at,
            last_run_at=state.last_run_at,
            last_result=state.last_result,
            last_duration_seconds=state.last_duration_seconds,
            last_error=state.last_error,
            runs=state.runs,
        )

    def _start(self, name: str, trigger: Trigger, params: dict[str, Any]) -> asyncio.Task[JobState]:
        previous = self._states[name].last_run_at
        run = JobRun(name, trigger, self._clock.now(), params, previous)
        task = asyncio.get_running_loop().create_task(self._run(run), name=f"job:{name}")
        self._running[name] = task
        task.add_done_callback(lambda _: self._running.pop(name, None))
        return task

    async def _run(self, run: JobRun) -> JobState:
        job = self._jobs[run.name]
        started = time.monotonic()
        log.info("job_started", job=run.name, trigger=run.trigger)
        result: dict[str, Any] | None = None
        error: str | None = None
        try:
            result = await job.run(run)
        except asyncio.CancelledError:
            error = "stopped"
            raise
        except Exception as exc:  # a failed run is recorded; the schedule goes on
            error = f"{type(exc).__name__}: {exc}"
            log.error("job_failed", job=run.name, error=error)
        finally:
            state = self._finish(run, result, error, time.monotonic() - started)
            await self._store.save_job(state, self._clock.now())
        if error is None:
            log.info("job_finished", job=run.name, seconds=state.last_duration_seconds,
                     result=result)  # fmt: skip
        return state

    def _finish(
        self, run: JobRun, result: dict[str, Any] | None, error: str | None, seconds: float
    ) -> JobState:
        state = self._states[run.name]
        upcoming = state.next_run_at
        if run.trigger == "schedule" or upcoming is None or upcoming <= self._clock.now():
            upcoming = self._next(run.name)
        state = JobState(
            name=run.name,
            next_run_at=upcoming,
            last_run_at=run.started_at,
            last_result=result if result is not None else state.last_result,
            last_duration_seconds=round(seconds, 3),
            last_error=error,
            runs=state.runs + 1,
        )
        self._states[run.name] = state
        self._schedule(job_key(run.name), upcoming)
        return state

    def _next(self, name: str) -> datetime | None:
        return next_after(self._jobs[name].schedule, self._clock.now(), self._tz)

    def _arm_next(self, name: str) -> None:
        upcoming = self._next(name)
        self._states[name] = msgspec.structs.replace(self._states[name], next_run_at=upcoming)
        self._schedule(job_key(name), upcoming)
