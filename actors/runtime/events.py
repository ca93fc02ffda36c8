"""Fan-out of events to whoever listens (dashboards, the desk), each numbered with a
gateway-wide increasing `seq`, the most recent kept in a bounded ring so that a listener
that reconnects can catch up on what it missed."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

import structlog

E = TypeVar("E")
Listener = Callable[[int, E], None]
log = structlog.get_logger("events")


class EventBus(Generic[E]):
    """Publishes events in order, numbering them `first_seq`, `first_seq + 1`, ..."""

    def __init__(self, keep: int = 10_000, first_seq: int = 1) -> None:
        self._listeners: list[Listener[E]] = []
        self._ring: deque[tuple[int, E]] = deque(maxlen=keep)
        self._next = first_seq
        self.published = 0

    def number_from(self, first_seq: int) -> None:
        """Number the next event `first_seq` (once, at start-up, before any is published)."""
        self._next = first_seq

    @property
    def last_seq(self) -> int:
        """The seq of the latest event (one less than the next)."""
        return self._next - 1

    def subscribe(self, listener: Listener[E]) -> Callable[[], None]:
        """Add `listener`; returns the function that removes it."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def publish(self, event: E) -> int:
        seq = self._next
        self._next += 1
        self.published += 1
        self._ring.append((seq, event))
        for listener in list(self._listeners):
            try:
                listener(seq, event)
            except Exception:  # one broken listener must not stop the others
                log.exception("listener_failed", seq=seq)
        return seq

    def since(self, seq: int) -> list[tuple[int, E]] | None:
        """The kept events after `seq`, oldest first; None when some of them are no longer
        kept (or `seq` is not one this bus gave): the listener must reload instead."""
        if seq > self.last_seq:
            return None
        if seq == self.last_seq:
            return []
        if not self._ring or self._ring[0][0] > seq + 1:
            return None
        return list(itertools.islice(self._ring, seq + 1 - self._ring[0][0], None))

    @property
    def listeners(self) -> int:
        return len(self._listeners)
