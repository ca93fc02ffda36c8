"""Which backend stores the gateway's data: SQLite, the embedded default."""

from __future__ import annotations

from typing import Literal

from storage.sqlite.store import SqliteStore
from storage.store import Store


def open_store(
    path: str, *, synchronous: Literal["FULL", "NORMAL"] = "FULL", max_batch: int = 2000
) -> Store:
    """The store for `[storage]`: a SQLite file at `path` (created, with its folder)."""
    return SqliteStore(path, synchronous=synchronous, max_batch=max_batch)
