"""An actor: a bounded mailbox drained one message at a time by a task that runs only
while there is mail. Callers hold a ref (`tell`/`ask`), never the actor itself.

An idle actor keeps no mailbox and no task (a conversation waiting for its deadline costs
its state and little else): both are created with the first mail and dropped when drained.
The bound always holds: mail beyond `capacity` is refused with MailboxFull, and the one
exception is the single Stop that `stop()` queues behind it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import msgspec
import structlog

from actors.runtime.errors import ActorStopped, MailboxFull

M = TypeVar("M")
log = structlog.get_logger("actors")


class Stop(msgspec.Struct, frozen=True):
    """Handled in order: mail queued before it is processed, mail after it is refused."""


class Envelope(msgspec.Struct):
    """One piece of mail, with the future an `ask` waits on and the inbox row it came from."""

    message: Any
    reply: asyncio.Future[Any] | None = None
    inbox_id: int = 0


class Actor(Generic[M]):
    """Subclasses implement `setup` (once, in the actor's task) and `handle` (per message)."""

    __slots__ = (
        "_mail",
        "_on_busy",
        "_ready",
        "_stopped",
        "_stopping",
        "_task",
        "capacity",
        "last_active",
        "leftovers",
        "name",
    )

    def __init__(self, name: str, capacity: int, on_busy: Callable[[Actor[Any], bool], None]):
        self.name = name
        self.capacity = capacity
        self._mail: deque[Envelope] | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = False
        self._stopping = False
        self._stopped = False
        self._on_busy = on_busy
        self.last_active = 0.0
        # Mail still queued when `handle` failed: the registry hands it to a fresh actor.
        self.leftovers: list[Envelope] | None = None

    @property
    def busy(self) -> bool:
        return self._task is not None

    @property
    def stopped(self) -> bool:
        return self._stopped

    def __len__(self) -> int:
        return 0 if self._mail is None else len(self._mail)

    def has_room(self) -> bool:
        return len(self) < self.capacity and not self._stopping

    def tell(self, message: M, *, inbox_id: int = 0) -> None:
        """Queue `message`; MailboxFull when full, ActorStopped once stopped."""
        self._enqueue(Envelope(message, None, inbox_id))

    def ask(self, message: M) -> asyncio.Future[Any]:
        """Queue `message` and return the future of its answer."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._enqueue(Envelope(message, future))
        return future

    def stop(self) -> None:
        """Stop after the mail already queued; mail after this is refused."""
        if self._stopping or self._stopped:
            return
        self._stopping = True
        self._append(Envelope(Stop()))

    def requeue(self, envelope: Envelope) -> None:
        """Take over mail another actor of the same key left behind when it failed (never
        more than a mailbox holds, so the bound holds here too)."""
        self._enqueue(envelope)

    def _enqueue(self, envelope: Envelope) -> None:
        if self._stopped or self._stopping:
            raise ActorStopped(self.name)
        if len(self) >= self.capacity:
            raise MailboxFull(self.name)
        self._append(envelope)

    def _append(self, envelope: Envelope) -> None:
        if self._mail is None:
            self._mail = deque()
        self._mail.append(envelope)
        if self._task is None:
            self._on_busy(self, True)
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def setup(self) -> None:
        """Runs once before the first message, inside the actor's task."""

    async def handle(self, message: M, inbox_id: int) -> Any:
        raise NotImplementedError

    async def on_failure(self, message: M, inbox_id: int, error: BaseException) -> None:
        """Called when `handle` raised; the actor stops after it."""

    def on_dropped(self, inbox_id: int) -> None:
        """Called for each piece of mail refused unhandled at a stop (a failed `setup`)."""

    async def _run(self) -> None:
        try:
            if not self._ready:
                await self.setup()
                self._ready = True
            mail = self._mail
            while mail:
                envelope = mail.popleft()
                if isinstance(envelope.message, Stop):
                    self._stop_now(envelope)
                    return
                try:
                    result = await self.handle(envelope.message, envelope.inbox_id)
                except asyncio.CancelledError:
                    mail.appendleft(envelope)
                    raise
                except Exception as exc:
                    log.exception(
                        "actor_failed", actor=self.name, message=type(envelope.message).__name__
                    )
                    if envelope.reply is not None and not envelope.reply.done():
                        envelope.reply.set_exception(exc)
                    await self.on_failure(envelope.message, envelope.inbox_id, exc)
                    self._stopped = True
                    self.leftovers = [e for e in mail if not isinstance(e.message, Stop)]
                    mail.clear()
                    return
                if envelope.reply is not None and not envelope.reply.done():
                    envelope.reply.set_result(result)
        except asyncio.CancelledError:
            self._stop_now(None)
            raise
        except Exception:
            log.exception("actor_setup_failed", actor=self.name)
            self._stop_now(None)
        finally:
            if self._mail is not None and not self._mail:
                self._mail = None
            self._task = None
            self.last_active = asyncio.get_running_loop().time()
            self._on_busy(self, False)

    def _stop_now(self, envelope: Envelope | None) -> None:
        """Refuse further mail and fail every pending ask with ActorStopped."""
        self._stopped = True
        if envelope is not None and envelope.reply is not None and not envelope.reply.done():
            envelope.reply.set_result(None)
        while self._mail:
            pending = self._mail.popleft()
            if pending.reply is not None and not pending.reply.done():
                pending.reply.set_exception(ActorStopped(self.name))
            self.on_dropped(pending.inbox_id)
