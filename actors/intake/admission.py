"""The gateway-wide bound on unprocessed intake: events stored in the inbox for a
conversation and not yet stepped, whatever the number of conversations.

One conversation's mailbox is bounded, and its overflow waits in the inbox (`Backlog`); but
intake spread over many conversations fills many mailboxes, and every actor with mail holds
its state and its mail in memory. Past `max_unprocessed` events, webhooks are refused with
`IntakeFull` before anything is stored (the providers retry), until the conversations catch
up. A webhook is admitted whole while the count is below the bound, so the count may pass it
by the events of the webhooks admitted together (at most 1000 each).

The count is kept in memory: the events stored by intake or found at start-up, less those
settled (stepped and committed, failed, or dropped by an actor that could not start). An
event settled twice (handed over twice to a fresh actor) only makes the count low, which
admits a little more; it is never negative.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import structlog

log = structlog.get_logger("intake")
ShedReason = Literal["conversation", "gateway"]


class IntakeFull(Exception):
    """Too many events are stored and not yet processed: shed this webhook (HTTP 503); the
    provider retries it later."""

    def __init__(self, unprocessed: int, bound: int) -> None:
        super().__init__(f"{unprocessed} events wait to be processed (the bound is {bound})")
        self.unprocessed = unprocessed
        self.bound = bound


@dataclass
class Admission:
    """Counts the unprocessed intake, admits webhooks while it is under the bound, and
    counts the webhooks shed (per reason, for /metrics and /healthz)."""

    max_unprocessed: int
    unprocessed: int = 0
    reserved: int = 0  # events of admitted webhooks that are being stored
    shed: dict[ShedReason, int] = field(default_factory=lambda: {"conversation": 0, "gateway": 0})
    shedding: bool = False  # past the bound since the last webhook admitted

    @property
    def full(self) -> bool:
        return self.unprocessed + self.reserved >= self.max_unprocessed

    def check(self) -> None:
        """IntakeFull (counted as shed) when past the bound: cheap, before a body is read.
        Logged once when shedding starts, and once when it stops."""
        if self.full:
            self.shed["gateway"] += 1
            if not self.shedding:
                self.shedding = True
                log.warning("intake_shedding", unprocessed=self.unprocessed,
                            bound=self.max_unprocessed)  # fmt: skip
            raise IntakeFull(self.unprocessed + self.reserved, self.max_unprocessed)
        if self.shedding:
            self.shedding = False
            log.info("intake_recovered", unprocessed=self.unprocessed, shed=self.shed["gateway"])

    def reserve(self, events: int) -> None:
        """Admit a webhook of `events` events (IntakeFull past the bound); `stored` or
        `release` must follow."""
        self.check()
        self.reserved += events

    def stored(self, reserved: int, new: int) -> None:
        """The admitted webhook is stored: `new` of its events were not duplicates."""
        self.reserved -= reserved
        self.unprocessed += new

    def release(self, reserved: int, reason: ShedReason | None = None) -> None:
        """The admitted webhook was not stored after all (shed for `reason`, or failed)."""
        self.reserved -= reserved
        if reason is not None:
            self.shed[reason] += 1

    def found(self, events: int) -> None:
        """Events stored before a restart and replayed."""
        self.unprocessed += events

    def settled(self) -> None:
        """One event stepped and committed, or given up on for this run."""
        if self.unprocessed > 0:
            self.unprocessed -= 1

    @property
    def shed_total(self) -> int:
        return sum(self.shed.values())
