"""The archive job (seed 002): conversations due by age, inactivity or completion (or the
ones named) are marked archived by their actor, then their messages move into the archive a
chunk of 1000 at a time, each chunk its own short write, so webhooks are never held back."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from actors.conversation.maintenance import ArchiveAnswer
from actors.conversation.messages import Archive
from actors.jobs.scheduler import JobRun
from actors.maintenance.context import Maintenance, log
from storage.store import ARCHIVE_CHUNK


async def archive_job(m: Maintenance, run: JobRun) -> dict[str, Any]:
    """`params`: `chat_ids` (a manual archive), `reason`, `compress`."""
    settings = m.settings.archive
    now = m.clock.now()
    compress = bool(run.params.get("compress", settings.compress))
    named: list[str] | None = run.params.get("chat_ids")
    if named is not None:
        todo = [(cid, str(run.params.get("reason") or "manual")) for cid in named]
    else:
        found = await m.store.archive_candidates(
            now, settings.after_days, settings.inactive_after_days, settings.completed,
            settings.batch,
        )  # fmt: skip
        todo = [(c.conversation_id, c.reason) for c in found]
    started = time.monotonic()
    archived, messages, stored, skipped = 0, 0, 0, []
    for cid, reason in todo:
        answer: ArchiveAnswer | None = await m.ask(cid, Archive(reason, by=run.trigger))
        if answer is None or (not answer.changed and answer.reason != "archived"):
            skipped.append({"chat_id": cid, "reason": answer.reason if answer else "not_found"})
            continue
        moved, size = await move_all(m, cid, compress)
        archived += int(answer.changed)
        messages += moved
        stored += size
        if answer.changed:
            m.stats.archived(m.clock.now(), moved, size)
    seconds = time.monotonic() - started
    slow = seconds > m.settings.alerts.archive_max_seconds
    message = f"the archive job took {seconds:.0f} s" if slow else None
    m.stats.alert("archive_slow", message)
    if slow:
        log.error("archive_slow", seconds=round(seconds), conversations=archived)
    return {
        "archived": archived,
        "messages": messages,
        "bytes": stored,
        "compressed": compress,
        "skipped": skipped,
    }


async def move_all(m: Maintenance, conversation_id: str, compress: bool) -> tuple[int, int]:
    """Every message of an archived conversation into its archive, a chunk per write; it
    stops by itself when an unarchive comes in between."""
    moved = stored = 0
    while True:
        count, size = await m.store.archive_chunk(conversation_id, compress, m.clock.now())
        moved, stored = moved + count, stored + size
        if count < ARCHIVE_CHUNK:  # that was the last (or there was none)
            return moved, stored
        await asyncio.sleep(0)  # let the webhooks' writes in between
