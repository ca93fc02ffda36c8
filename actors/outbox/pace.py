"""The outbound pace per business number: at most `rate` sends a second (Meta's throughput
for a number; 80 by default), as a token bucket that holds one second's worth (a burst of
`rate`, then `rate` a second). A throttling answer (HTTP 429, error 130429 or 131056)
halves the pace; each second without one wins a tenth of the way back to `rate`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

THROTTLED = frozenset({429, 130429, 131056})  # too fast: for the number, or for a pair
RECOVERY_PER_SECOND = 0.1
MIN_RATE = 1.0


def loop_time() -> float:
    """The event loop's clock: real seconds even under a test's frozen wall clock."""
    return asyncio.get_running_loop().time()


@dataclass
class _Lane:
    rate: float  # sends a second now (at most the configured rate)
    tokens: float  # sends that may go at once
    at: float  # loop time of the last refill
    slowed_at: float | None = None  # loop time of the last slow-down (recovery from there)


class Pace:
    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = loop_time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._lanes: dict[str, _Lane] = {}

    def current(self, business_id: str) -> float:
        """This number's pace now, in sends a second."""
        lane = self._lanes.get(business_id)
        return self.rate if lane is None else self._refill(lane, self._clock())

    async def slot(self, business_id: str) -> None:
        """Wait for this number's next send (at once when the pace is off: rate <= 0)."""
        if self.rate <= 0:
            return
        while True:
            now = self._clock()
            lane = self._lane(business_id, now)
            rate = self._refill(lane, now)
            if lane.tokens >= 1 - 1e-9:  # (a sleep's rounding must not make another)
                lane.tokens = max(0.0, lane.tokens - 1)
                return
            await self._sleep((1 - lane.tokens) / rate)

    def throttled(self, business_id: str) -> float:
        """The provider said "too fast": halve this number's pace, and empty its bucket;
        the new rate."""
        now = self._clock()
        lane = self._lane(business_id, now)
        lane.rate = max(MIN_RATE, self._refill(lane, now) / 2)
        lane.tokens = 0.0
        lane.slowed_at = now
        return lane.rate

    def _lane(self, business_id: str, now: float) -> _Lane:
        lane = self._lanes.get(business_id)
        if lane is None:
            lane = self._lanes[business_id] = _Lane(self.rate, max(1.0, self.rate), now)
        return lane

    def _refill(self, lane: _Lane, now: float) -> float:
        """Win back pace since the last slow-down, then tokens since the last refill; the
        lane's rate."""
        if lane.slowed_at is not None:
            gap = (self.rate - lane.rate) * (1 - RECOVERY_PER_SECOND) ** (now - lane.slowed_at)
            lane.rate, lane.slowed_at = self.rate - gap, now
            if gap < 0.01:
                lane.rate, lane.slowed_at = self.rate, None
        lane.tokens = min(max(1.0, lane.rate), lane.tokens + (now - lane.at) * lane.rate)
        lane.at = now
        return lane.rate
