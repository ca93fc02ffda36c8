"""Cron expressions, by croniter: the next instant a schedule names, in its time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`; ValueError names it when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def check(expression: str) -> str | None:
    """Why `expression` is not a cron expression, or None ("" is: the job is off)."""
    if expression == "" or croniter.is_valid(expression):
        return None
    return f"{expression!r} is not a cron expression (minute hour day month weekday)"


def next_after(expression: str, after: datetime, tz: ZoneInfo) -> datetime | None:
    """The first instant strictly after `after` that `expression` names, read in `tz`, in
    UTC; None for a job that is off ("")."""
    if not expression:
        return None
    local = after.astimezone(tz)
    found: datetime = croniter(expression, local).get_next(datetime)
    return found.astimezone(UTC)
