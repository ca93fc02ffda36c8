"""Loads conversation snapshots for reviving actors, many per query when many revive at once
(a mass expiry revives thousands in the same loop turn)."""

from __future__ import annotations

import asyncio

from storage import conversations
from storage.reader import Reader


class SnapshotLoader:
    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        self._pending: dict[str, list[asyncio.Future[bytes | None]]] = {}
        self._task: asyncio.Task[None] | None = None

    def load(self, conversation_id: str) -> asyncio.Future[bytes | None]:
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(conversation_id, []).append(future)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._flush())
        return future

    async def _flush(self) -> None:
        try:
            while self._pending:
                await asyncio.sleep(0)  # let the rest of this loop turn queue its loads too
                batch, self._pending = self._pending, {}
                try:
                    found = await conversations.load_snapshots(self._reader, list(batch))
                except Exception as exc:
                    for futures in batch.values():
                        for f in futures:
                            if not f.done():
                                f.set_exception(exc)
                    continue
                for key, futures in batch.items():
                    for f in futures:
                        if not f.done():
                            f.set_result(found.get(key))
        finally:
            self._task = None
