"""actors.runtime.events: events numbered in order, the recent ones kept for a listener
that reconnects, and one broken listener never stops the others."""

from __future__ import annotations

from actors.runtime.events import EventBus


def test_events_are_numbered_from_the_first_seq() -> None:
    """Each published event gets the next seq; listeners get it with the event."""
    bus: EventBus[str] = EventBus(keep=10)
    bus.number_from(100)
    heard: list[tuple[int, str]] = []
    bus.subscribe(lambda seq, event: heard.append((seq, event)))
    assert bus.last_seq == 99
    assert [bus.publish("a"), bus.publish("b")] == [100, 101]
    assert heard == [(100, "a"), (101, "b")]
    assert bus.last_seq == 101


def test_since_replays_what_is_kept_and_refuses_what_is_not() -> None:
    """`since` gives the kept events after a seq; None when some are gone, or the seq was
    never given."""
    bus: EventBus[str] = EventBus(keep=3)
    for event in "abcde":  # seqs 1..5; 3, 4, 5 kept
        bus.publish(event)
    assert bus.since(5) == []
    assert bus.since(3) == [(4, "d"), (5, "e")]
    assert bus.since(2) == [(3, "c"), (4, "d"), (5, "e")]
    assert bus.since(1) is None, "event 2 is no longer kept"
    assert bus.since(9) is None, "a seq from the future (or another run)"


def test_since_on_a_quiet_bus() -> None:
    """Before any event, the seq the hello gave means nothing was missed."""
    bus: EventBus[str] = EventBus(keep=3)
    bus.number_from(1 << 32)
    assert bus.since(bus.last_seq) == []
    assert bus.since(5) is None


def test_a_failing_listener_does_not_stop_the_others() -> None:
    """A listener that raises is logged; the next listener still gets the event."""
    bus: EventBus[str] = EventBus()
    heard: list[str] = []

    def broken(_seq: int, _event: str) -> None:
        raise RuntimeError("broken")

    bus.subscribe(broken)
    unsubscribe = bus.subscribe(lambda _seq, event: heard.append(event))
    bus.publish("a")
    unsubscribe()
    bus.publish("b")
    assert heard == ["a"]
    assert bus.listeners == 1
