"""The Store contract, continued: seed 002's maintenance operations (archive chunks and
their exact restore, retention, statistics, metadata, status batches, history imports,
sync and job state). Every backend passes these, as it passes test_store_contract.py."""

# ruff: noqa: F811  (the `store` fixture is imported from the contract suite)

from __future__ import annotations

from datetime import timedelta

import msgspec

from storage.content import Location
from storage.rows import MessageStatusChange, MetadataChange, SyncRow
from storage.store import Store
from storage.views import JobState
from tests.test_store_contract import (  # noqa: F401  (the fixtures)
    T0,
    commit,
    conversation,
    covers,
    make_store,
    message,
    session,
    store,
)


def archived(cid: str = "c1", **kw: object) -> object:
    return conversation(cid, archived=T0, **kw)  # type: ignore[arg-type]


async def stored(store: Store, cid: str = "c1") -> list[object]:
    found, _ = await store.messages(cid, 10_000, 0)
    return list(found)


@covers("archive_chunk", "archive_candidates", "archives")
async def test_archive_then_restore_is_exact(store: Store) -> None:
    """2500 messages move in chunks of 1000 (gzip or not) and come back field by field:
    ids, structure, statuses, reactions and payloads."""
    rows = [message(store, "c1", f"m{i}", pid=f"wamid.{i}") for i in range(2500)]
    rows[3] = msgspec.structs.replace(
        rows[3],
        view=msgspec.structs.replace(
            rows[3].view,
            kind="location",
            content=Location(latitude=51.5, longitude=-0.12, name="County Hall"),
            direction="out",
            sender_type="agent",
            status="sent",
        ),
    )
    await commit(store, conversation("c1"), messages=rows)
    before = await stored(store)
    await commit(store, archived(), exists=True)
    moved = [await store.archive_chunk("c1", compress=i % 2 == 0, now=T0) for i in range(4)]
    assert [m for m, _ in moved] == [1000, 1000, 500, 0]
    assert all(size > 0 for _, size in moved[:3])
    assert await stored(store) == []
    [listed], total = await store.archives(50, 0)
    assert total == 1
    assert (listed.conversation_id, listed.message_count, listed.parts) == ("c1", 2500, 3)
    assert listed.compressed
    restored = await commit(store, conversation("c1"), exists=True, restore_archive=True)
    assert restored.restore_archive
    assert await stored(store) == before
    assert (await store.archives(50, 0))[1] == 0


@covers()
async def test_a_chunk_moves_nothing_once_unarchived(store: Store) -> None:
    await commit(store, conversation("c1"), messages=[message(store, "c1", "hi")])
    assert await store.archive_chunk("c1", compress=True, now=T0) == (0, 0)
    assert len(await stored(store)) == 1


@covers()
async def test_archive_criteria(store: Store) -> None:
    """Age (or the conversation's own days), inactivity, completed; never with an open
    session; never twice."""
    old = T0 - timedelta(days=100)
    await commit(store, msgspec.structs.replace(conversation("old"), created_at=old))
    await commit(store, conversation("idle", last_activity=T0 - timedelta(days=70)))
    await commit(store, conversation("closed", status="closed"))
    await commit(store, conversation("fresh"))
    await commit(store, conversation("busy", last_activity=old), session=session("busy.s1", "busy"))
    await commit(store, conversation("done", archived=T0, last_activity=old))
    await store.merge_conversation_metadata("fresh", MetadataChange(auto_archive_after_days=0))
    found = await store.archive_candidates(T0, 90, 60, True, 100)
    assert {(c.conversation_id, c.reason) for c in found} == {
        ("old", "age"),
        ("idle", "inactivity"),
        ("closed", "completed"),
        ("fresh", "age"),
    }
    assert await store.archive_candidates(T0, 0, 0, False, 100) == [
        c for c in found if c.conversation_id == "fresh"
    ]
    assert len(await store.archive_candidates(T0, 90, 60, True, 2)) == 2


@covers("cleanup", "database_stats")
async def test_retention_cleanup_and_stats(store: Store) -> None:
    """Archives past the retention go (a dry run only counts); orphans go; stats count."""
    await commit(
        store, conversation("c1"), messages=[message(store, "c1", f"m{i}") for i in range(5)]
    )
    await commit(store, archived(), exists=True)
    await store.archive_chunk("c1", compress=False, now=T0)
    await commit(store, conversation("c2"), messages=[message(store, "c2", "keep")])
    await commit(store, conversation("c3"), messages=[message(store, "ghost", "orphan")])
    stats = await store.database_stats()
    assert stats.tables["message_archives"] == 1 and stats.archived_messages == 5
    assert stats.tables["messages"] == 2 and stats.file_bytes > 0
    assert stats.oldest_message_at == T0
    dry = await store.cleanup(archive_before=T0 + timedelta(days=1), inbox_before=None,
                              remove_orphans=True, optimize=True, dry_run=True)  # fmt: skip
    assert (dry.dry_run, dry.deleted_archives, dry.orphan_messages, dry.optimized) == (
        True, 1, 1, False,
    )  # fmt: skip
    assert (await store.database_stats()).tables["message_archives"] == 1
    kept = await store.cleanup(archive_before=T0, inbox_before=None, remove_orphans=False,
                               optimize=False, dry_run=False)  # fmt: skip
    assert kept.deleted_archives == 0, "not older than the cutoff"
    done = await store.cleanup(archive_before=T0 + timedelta(days=1), inbox_before=T0,
                               remove_orphans=True, optimize=True, dry_run=False)  # fmt: skip
    assert (done.deleted_archives, done.orphan_messages, done.optimized) == (1, 1, True)
    assert done.archive_bytes > 0
    after = await store.database_stats()
    assert after.tables["message_archives"] == 0 and after.tables["messages"] == 1


@covers("merge_message_metadata", "merge_conversation_metadata")
async def test_metadata_merges(store: Store) -> None:
    row = message(store, "c1", "hi")
    await commit(store, conversation("c1"), messages=[row])
    mid = row.view.id
    assert await store.merge_message_metadata(mid, MetadataChange(tags=["b", "a"], category="x"))
    merged = await store.merge_message_metadata(
        mid, MetadataChange(tags=["c"], remove_tags=["a"], metadata={"k": 1}, sentiment="neutral")
    )
    assert merged is not None
    assert (merged.tags, merged.category, merged.sentiment, merged.metadata) == (
        ["b", "c"], "x", "neutral", {"k": 1},
    )  # fmt: skip
    assert await store.merge_message_metadata("999999", MetadataChange(tags=["x"])) is None
    assert await store.merge_message_metadata("nope", MetadataChange(tags=["x"])) is None
    assert await store.merge_conversation_metadata(
        "c1", MetadataChange(tags=["vip"], metadata={"a": 1, "b": 2}, category="sales")
    )
    assert await store.merge_conversation_metadata(
        "c1", MetadataChange(metadata={"a": None}, sentiment="positive")
    )
    view = await store.conversation("c1", T0)
    assert view is not None
    assert (view.tags, view.category, view.metadata) == (
        ["vip"], "sales", {"b": 2, "sentiment": "positive"},
    )  # fmt: skip
    assert await store.merge_conversation_metadata("nope", MetadataChange()) is None


@covers("update_message_statuses")
async def test_status_batches(store: Store) -> None:
    inbound = message(store, "c1", "hi")
    outbound = message(store, "c1", "hello", direction="out", sender="agent", status="sent")
    await commit(store, conversation("c1"), messages=[inbound, outbound])
    batch = await store.update_message_statuses(
        [
            MessageStatusChange(inbound.view.id, read=True, processed=True),
            MessageStatusChange(outbound.view.id, delivery_status="read"),
            MessageStatusChange(outbound.view.id, delivery_status="delivered"),  # no going back
            MessageStatusChange(inbound.view.id, delivery_status="read"),
            MessageStatusChange("424242", read=True),
        ],
        T0,
    )
    assert batch.read == {"c1": 1}
    assert batch.failed == [
        (inbound.view.id, "delivery_status_of_inbound_message"),
        ("424242", "not_found"),
    ]
    shown = {m.id: m for m in await stored(store)}  # type: ignore[attr-defined]
    assert shown[outbound.view.id].status == "read"  # type: ignore[attr-defined]
    assert shown[inbound.view.id].read_at == T0  # type: ignore[attr-defined]
    again = await store.update_message_statuses(
        [MessageStatusChange(inbound.view.id, read=True)], T0
    )
    assert again.read == {}, "already read"


@covers("import_history")
async def test_history_import_is_idempotent(store: Store) -> None:
    known = message(store, "c1", "hi", pid="wamid.1")
    await commit(store, conversation("c1"), messages=[known])
    history = [
        message(store, "c1", "hi (edited)", pid="wamid.1"),
        message(store, "c1", "missed", pid="wamid.2"),
        message(
            store,
            "c1",
            "sent by an agent",
            pid="wamid.3",
            direction="out",
            sender="agent",
            status="delivered",
        ),
    ]
    assert await store.import_history("c1", history, T0) == (2, 1)
    assert await store.import_history("c1", history, T0) == (0, 0)
    texts = [m.text for m in await stored(store)]  # type: ignore[attr-defined]
    assert texts == ["hi (edited)", "missed", "sent by an agent"]
    view = await store.conversation("c1", T0)
    assert view is not None and view.message_count == 3


@covers("save_sync_status", "sync_statuses")
async def test_sync_state(store: Store) -> None:
    await store.save_sync_status(
        SyncRow("c1", "failed", T0, error_message="timeout", retry_count=1)
    )
    await store.save_sync_status(SyncRow("c1", "synced", T0, last_sync_at=T0, synced_count=3))
    await store.save_sync_status(SyncRow("c2", "pending", T0))
    _, total = await store.sync_statuses(None, 50, 0)
    assert total == 2
    [one], _ = await store.sync_statuses("c1", 50, 0)
    assert (one.sync_status, one.last_sync_at, one.retry_count, one.synced_count) == (
        "synced", T0, 0, 3,
    )  # fmt: skip
    assert one.error_message is None


@covers("save_job", "jobs")
async def test_job_state(store: Store) -> None:
    job = JobState("cleanup", T0, None, None, None, None, 0)
    await store.save_job(job, T0)
    ran = JobState("cleanup", T0 + timedelta(days=1), T0, {"deleted": 2}, 0.5, None, 1)
    await store.save_job(ran, T0)
    assert await store.jobs() == [ran]


@covers("conversation_refs", "unanalyzed_messages")
async def test_walking_conversations_and_messages(store: Store) -> None:
    for cid in ("c1", "c2", "c3"):
        await commit(store, conversation(cid), messages=[message(store, cid, f"hi {cid}")])
    first = await store.conversation_refs("", 2)
    assert [r.id for r in first] == ["c1", "c2"]
    assert [r.id for r in await store.conversation_refs("c2", 2)] == ["c3"]
    todo = await store.unanalyzed_messages(0, 10)
    assert [m.text for m in todo] == ["hi c1", "hi c2", "hi c3"]
    await store.merge_message_metadata(todo[0].id, MetadataChange(sentiment="neutral"))
    assert [m.text for m in await store.unanalyzed_messages(0, 10)] == ["hi c2", "hi c3"]
    assert await store.unanalyzed_messages(int(todo[2].id), 10) == []
