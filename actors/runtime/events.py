"""Fan-out of notifications (session and message events) to whoever listens: dashboards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

Listener = Callable[[str, dict[str, Any]], None]
log = structlog.get_logger("events")


class EventBus:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self.published = 0

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add `listener`; returns the function that removes it."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def publish(self, event_type: str, data: dict[str, Any]) -> None:
        self.published += 1
        for listener in list(self._listeners):
            try:
                listener(event_type, data)
            except Exception:  # one broken listener must not stop the others
                log.exception("listener_failed", event_type=event_type)

    @property
    def listeners(self) -> int:
        return len(self._listeners)
