"""The injected clock: the only place the core learns what time it is."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, Protocol

ClockMode = Literal["system", "virtual"]


class Clock(Protocol):
    """`now()` gives an aware UTC datetime; `mode` says whether time moves by itself."""

    @property
    def mode(self) -> ClockMode: ...

    def now(self) -> datetime: ...


class SystemClock:
    """Wall time (`datetime.now(UTC)`, which freezegun controls in tests)."""

    @property
    def mode(self) -> ClockMode:
        return "system"

    def now(self) -> datetime:
        return datetime.now(UTC)


class VirtualClock:
    """Time that moves only when told (`set`), never backwards: black-box simulations."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("VirtualClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    @property
    def mode(self) -> ClockMode:
        return "virtual"

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        """Move to `when`; earlier instants are ignored, time never runs backwards."""
        when = when.astimezone(UTC)
        if when > self._now:
            self._now = when
