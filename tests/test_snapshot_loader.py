"""actors.conversation.snapshot_loader: snapshots loaded many per query, and a loader that
owns its task."""

from __future__ import annotations

import asyncio

import pytest

from actors.conversation.snapshot_loader import SnapshotLoader
from actors.runtime.errors import ActorStopped


class Snapshots:
    """The one read the loader makes."""

    def __init__(self, stored: dict[str, bytes], fail: bool = False) -> None:
        self.stored = stored
        self.fail = fail
        self.queries: list[list[str]] = []

    async def load_snapshots(self, ids: list[str]) -> dict[str, bytes]:
        self.queries.append(sorted(ids))
        await asyncio.sleep(0)
        if self.fail:
            raise OSError("disk")
        return {i: self.stored[i] for i in ids if i in self.stored}


async def test_loads_of_one_loop_turn_share_one_query() -> None:
    """Many actors reviving at once cost one query; a missing conversation is None."""
    store = Snapshots({"a": b"A", "b": b"B"})
    loader = SnapshotLoader(store)  # type: ignore[arg-type]
    results = await asyncio.gather(loader.load("a"), loader.load("b"), loader.load("new"))
    assert results == [b"A", b"B", None]
    assert store.queries == [["a", "b", "new"]]
    await loader.close()


async def test_a_failed_query_fails_every_load_of_it() -> None:
    loader = SnapshotLoader(Snapshots({}, fail=True))  # type: ignore[arg-type]
    first, second = loader.load("a"), loader.load("b")
    for future in (first, second):
        with pytest.raises(OSError, match="disk"):
            await future
    await loader.close()


async def test_close_waits_for_the_batch_and_refuses_more() -> None:
    """`close` lets the batch in progress finish; a load after it fails with ActorStopped."""
    loader = SnapshotLoader(Snapshots({"a": b"A"}))  # type: ignore[arg-type]
    pending = loader.load("a")
    await loader.close()
    assert pending.done() and pending.result() == b"A"
    with pytest.raises(ActorStopped):
        await loader.load("a")
