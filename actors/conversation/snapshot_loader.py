"""Loads conversation snapshots for reviving actors, many per query when many revive at once
(a mass expiry revives thousands in the same loop turn). It owns its one task: `close`
fails what is pending and awaits it."""

from __future__ import annotations

import asyncio

from actors.runtime.errors import ActorStopped
from storage.store import Store


class SnapshotLoader:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: dict[str, list[asyncio.Future[bytes | None]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def load(self, conversation_id: str) -> asyncio.Future[bytes | None]:
        """The snapshot of `conversation_id` (None when it does not exist yet)."""
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        if self._closed:
            future.set_exception(ActorStopped(conversation_id))
            return future
        self._pending.setdefault(conversation_id, []).append(future)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._flush(), name="snapshot-loader"
            )
        return future

    async def close(self) -> None:
        """Load nothing more; wait for the batch in progress."""
        self._closed = True
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def _flush(self) -> None:
        try:
            while self._pending:
                await asyncio.sleep(0)  # let the rest of this loop turn queue its loads too
                batch, self._pending = self._pending, {}
                try:
                    found = await self._store.load_snapshots(list(batch))
                except Exception as exc:
                    _settle(batch, exc)
                    continue
                for key, futures in batch.items():
                    for f in futures:
                        if not f.done():
                            f.set_result(found.get(key))
        except asyncio.CancelledError:
            _settle(self._pending, ActorStopped("snapshot loader"))
            raise
        finally:
            self._task = None


def _settle(batch: dict[str, list[asyncio.Future[bytes | None]]], exc: BaseException) -> None:
    for futures in batch.values():
        for f in futures:
            if not f.done():
                f.set_exception(exc)
