"""The outbound pace per business number: a burst of one second's worth, then `rate` a
second; a throttling answer halves it, and it wins the pace back by itself."""

from __future__ import annotations

import pytest

from actors.outbox.pace import Pace


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def sends_in(pace: Pace, clock: Clock, business: str, seconds: float) -> int:
    """How many sends get a slot in `seconds` of the clock, asking as fast as they can."""
    end = clock.now + seconds
    count = 0
    while True:
        await pace.slot(business)
        if clock.now > end:
            return count
        count += 1


async def test_a_burst_then_the_rate(clock: Clock) -> None:
    pace = Pace(80, clock, clock.sleep)
    assert await sends_in(pace, clock, "b1", 0.0) == 80, "one second's worth at once"
    assert await sends_in(pace, clock, "b1", 10.0) == pytest.approx(800, abs=2)


async def test_numbers_have_their_own_pace(clock: Clock) -> None:
    pace = Pace(10, clock, clock.sleep)
    await sends_in(pace, clock, "b1", 0.0)
    start = clock.now
    await pace.slot("b2")
    assert clock.now == start, "another number is not held back"


async def test_a_throttling_answer_halves_then_recovers(clock: Clock) -> None:
    pace = Pace(80, clock, clock.sleep)
    assert pace.throttled("b1") == 40
    assert pace.throttled("b1") == 20
    clock.now += 1
    assert pace.current("b1") == pytest.approx(80 - 60 * 0.9, abs=0.01)
    clock.now += 120
    assert pace.current("b1") == 80
    assert await sends_in(pace, clock, "b1", 10.0) == pytest.approx(880, abs=3)


async def test_zero_is_off(clock: Clock) -> None:
    pace = Pace(0, clock, clock.sleep)
    for _ in range(10_000):
        await pace.slot("b1")
    assert clock.now == 1000.0
