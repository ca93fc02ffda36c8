"""How SQLite holds instants: ISO 8601 text in UTC with `Z` (fixed width, so that text order
is time order), or REAL Unix seconds for the columns the timers scan."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(when: datetime) -> str:
    """Fixed width (microseconds always present) so that text order is time order."""
    if when.utcoffset():
        when = when.astimezone(UTC)
    return when.isoformat(timespec="microseconds")[:26] + "Z"


def iso_or_none(when: datetime | None) -> str | None:
    return None if when is None else iso(when)


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def parse_iso_or_none(text: str | None) -> datetime | None:
    return None if text is None else parse_iso(text)


def from_ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def enc_hook(obj: object) -> object:
    """For msgspec: instants of datetime subclasses (freezegun's, in tests) as ISO text."""
    if isinstance(obj, datetime):
        return iso(obj)
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")
