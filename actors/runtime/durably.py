"""Writes that must not be lost to a passing fault of the database (a full disk, a lock):
tried again with a growing pause, for a bounded time, then the fault is raised.

Used where the caller cannot hand the fault back to someone who retries: a conversation's
step (its webhook was answered 200 already) and the outcome of a send (the provider has the
message; forgetting that would send it twice). A webhook is not written this way: it is
answered 503 at once and its sender retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog

from storage.store import StoreUnavailable

log = structlog.get_logger("store")
T = TypeVar("T")
# About 40 s in all: a lock held by a backup or a disk filled by a log is cleared in that
# time; longer, the step fails and its event waits in the inbox for the next start.
BACKOFF = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 5.0, 5.0, 5.0, 5.0, 8.0)


async def durably(write: Callable[[], Awaitable[T]], what: str, **context: object) -> T:
    """`await write()`, again after each StoreUnavailable, until it succeeds or BACKOFF is
    spent."""
    for attempt, pause in enumerate(BACKOFF):
        try:
            return await write()
        except StoreUnavailable as exc:
            if attempt == 0:
                log.warning("write_postponed", what=what, error=str(exc), **context)
            await asyncio.sleep(pause)
    return await write()
