"""One heap of deadlines for every conversation, armed with a single event-loop handle."""

from __future__ import annotations

import asyncio
import heapq
from collections import deque
from collections.abc import Callable, Hashable
from datetime import UTC, datetime

from actors.runtime.clock import Clock

# Re-read the clock at least this often, so that a jump of the wall clock (or of freezegun)
# is noticed even without a poke.
MAX_SLEEP_SECONDS = 30.0


class TimerService:
    """Deadlines as `(when, key)` in one heap; `on_due(key)` is called when one falls due.

    Rescheduling a key replaces its deadline: the old heap entry becomes stale and is skipped
    when popped. Deadlines in the past fire at once (on the next loop turn).
    """

    def __init__(self, clock: Clock, on_due: Callable[[Hashable], None]) -> None:
        self._clock = clock
        self._on_due = on_due
        self._heap: list[tuple[float, int, Hashable]] = []
        self._current: dict[Hashable, float] = {}
        self._seq = 0
        self._handle: asyncio.TimerHandle | None = None
        self._armed_for: float | None = None
        self._running = False
        self.fired = 0
        # How late each recent deadline fired, in seconds (for /metrics and benchmarks).
        self.lateness: deque[float] = deque(maxlen=4096)

    def __len__(self) -> int:
        return len(self._current)

    def deadline_keys(self) -> list[Hashable]:
        """The keys with a deadline."""
        return list(self._current)

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        self._running = True
        self._arm()

    def stop(self) -> None:
        self._running = False
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
            self._armed_for = None

    def schedule(self, key: Hashable, when: datetime | None) -> None:
        """Set (or with None, clear) the deadline of `key`."""
        if when is None:
            self._current.pop(key, None)
            return
        ts = when.timestamp()
        if self._current.get(key) == ts:
            return
        self._current[key] = ts
        self._seq += 1
        heapq.heappush(self._heap, (ts, self._seq, key))
        if len(self._heap) > 2 * len(self._current) + 1024:
            self._compact()
        if self._running and (self._armed_for is None or ts < self._armed_for):
            self._arm()

    def earliest(self) -> datetime | None:
        """The earliest live deadline, dropping stale heap entries on the way."""
        heap = self._heap
        while heap:
            ts, _, key = heap[0]
            if self._current.get(key) == ts:
                return datetime.fromtimestamp(ts, UTC)
            heapq.heappop(heap)
        return None

    def poke(self) -> int:
        """Fire everything due now and re-arm; call after the clock jumps."""
        fired = self.fire_due()
        if self._running:
            self._arm()
        return fired

    def fire_due(self) -> int:
        """Call `on_due` for every key whose deadline is at or before `clock.now()`."""
        now_ts = self._clock.now().timestamp()
        heap = self._heap
        fired = 0
        while heap and heap[0][0] <= now_ts:
            ts, _, key = heapq.heappop(heap)
            if self._current.get(key) != ts:
                continue
            del self._current[key]
            fired += 1
            self.lateness.append(now_ts - ts)
            self._on_due(key)
        self.fired += fired
        return fired

    def _compact(self) -> None:
        self._heap = [(ts, i, k) for i, (k, ts) in enumerate(self._current.items())]
        heapq.heapify(self._heap)
        self._seq = len(self._heap)

    def _arm(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
            self._armed_for = None
        nxt = self.earliest()
        if nxt is None:
            return
        ts = nxt.timestamp()
        delay = max(0.0, ts - self._clock.now().timestamp())
        if self._clock.mode == "virtual" and delay > 0:
            return  # virtual time moves only through advance(), which pokes
        loop = asyncio.get_running_loop()
        self._armed_for = ts
        self._handle = loop.call_later(min(delay, MAX_SLEEP_SECONDS), self._on_timer)

    def _on_timer(self) -> None:
        self._handle = None
        self._armed_for = None
        self.fire_due()
        if self._running:
            self._arm()
