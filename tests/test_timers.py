"""The timer heap: earliest first, replaced deadlines skipped, past deadlines at once."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import UTC, datetime, timedelta

from actors.runtime.clock import VirtualClock
from actors.runtime.timers import TimerService

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def service() -> tuple[TimerService, VirtualClock, list[Hashable]]:
    clock = VirtualClock(T0)
    fired: list[Hashable] = []
    return TimerService(clock, fired.append), clock, fired


def test_fires_in_deadline_order() -> None:
    """Due deadlines fire earliest first; later ones wait."""
    timers, clock, fired = service()
    timers.schedule("b", T0 + timedelta(seconds=20))
    timers.schedule("a", T0 + timedelta(seconds=10))
    timers.schedule("c", T0 + timedelta(seconds=30))
    clock.set(T0 + timedelta(seconds=25))
    assert timers.fire_due() == 2
    assert fired == ["a", "b"]
    assert len(timers) == 1


def test_rescheduling_replaces_and_none_clears() -> None:
    """A key has one deadline: the stale heap entry is skipped; None cancels."""
    timers, clock, fired = service()
    timers.schedule("a", T0 + timedelta(seconds=10))
    timers.schedule("a", T0 + timedelta(seconds=50))
    timers.schedule("b", T0 + timedelta(seconds=10))
    timers.schedule("b", None)
    clock.set(T0 + timedelta(seconds=20))
    assert timers.fire_due() == 0
    assert timers.earliest() == T0 + timedelta(seconds=50)
    clock.set(T0 + timedelta(seconds=50))
    timers.fire_due()
    assert fired == ["a"]


def test_deadline_exactly_now_fires() -> None:
    """A deadline equal to now is due (a pause ends at expires_at exactly)."""
    timers, _, fired = service()
    timers.schedule("a", T0)
    assert timers.fire_due() == 1
    assert fired == ["a"]


def test_heap_is_compacted_under_churn() -> None:
    """Rescheduling one key many times does not grow the heap without bound."""
    timers, _, _ = service()
    for i in range(10_000):
        timers.schedule("a", T0 + timedelta(seconds=i + 1))
    assert len(timers._heap) < 3000
    assert timers.earliest() == T0 + timedelta(seconds=10_000)


async def test_armed_handle_fires_on_the_loop() -> None:
    """With a clock already past a deadline, start() fires it on the next loop turn."""
    import asyncio

    timers, clock, fired = service()
    timers.schedule("a", T0 - timedelta(seconds=1))
    timers.start()
    try:
        for _ in range(3):
            await asyncio.sleep(0)
        assert fired == ["a"]
        clock.set(T0 + timedelta(hours=1))
        timers.schedule("b", T0 + timedelta(minutes=30))
        for _ in range(3):
            await asyncio.sleep(0)
        assert fired == ["a", "b"]
    finally:
        timers.stop()
