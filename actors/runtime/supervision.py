"""Supervision: one long-lived actor (the desk) kept alive. When it stops on a failure (a
bug), the next call gets a fresh one, which rebuilds its state in `setup`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import structlog

from actors.runtime.actor import Actor

A = TypeVar("A", bound=Actor[Any])
log = structlog.get_logger("supervision")


class Supervisor(Generic[A]):
    def __init__(self, make: Callable[[], A]) -> None:
        self._make = make
        self._actor = make()
        self._closed = False
        self.restarts = 0

    @property
    def actor(self) -> A:
        """The live actor, made again if the last one failed (never after `close`)."""
        if self._actor.stopped and not self._closed:
            self.restarts += 1
            log.error("actor_restarted", actor=self._actor.name, restarts=self.restarts)
            self._actor = self._make()
        return self._actor

    def close(self) -> None:
        """Stop the actor after its queued mail; no restarts after this."""
        self._closed = True
        self._actor.stop()
