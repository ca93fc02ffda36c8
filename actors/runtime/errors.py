"""The core's named exceptions; the gateway maps them to HTTP in one place."""

from __future__ import annotations


class ActorError(Exception):
    """Base of every error the actor runtime raises."""


class MailboxFull(ActorError):
    """An actor's bounded mailbox has no room: the caller should shed load (HTTP 503)."""


class ActorStopped(ActorError):
    """The actor stopped before it answered: pending asks fail with this."""
