"""A database that refuses writes (disk full, locked by another connection): webhooks are
answered 503 with Retry-After, never 200 for what was not stored, nothing is half-written,
and the gateway recovers by itself once the fault clears. Writes that follow an
acknowledgement (a step, a send's outcome) wait the fault out instead of failing."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from gateway.signature import sign
from storage.store import StoreUnavailable
from tests.conftest import MakeSim
from tests.sim import APP_SECRET, BUSINESS, Sim, cloud_envelope

MENU = "How can we help you today?"


def batch(prefix: str, count: int, size: int = 4000) -> dict[str, Any]:
    """One webhook carrying `count` long texts from as many customers."""
    phones = [f"4477005{i:05d}" for i in range(count)]
    return cloud_envelope(
        BUSINESS,
        [{"profile": {"name": "Dana"}, "wa_id": p} for p in phones],
        [
            {"from": p, "id": f"wamid.{prefix}.{p}", "timestamp": "0", "type": "text",
             "text": {"body": "x" * size}}
            for p in phones
        ],
    )  # fmt: skip


async def stamped(sim: Sim, body: dict[str, Any]) -> dict[str, Any]:
    for message in body["entry"][0]["changes"][0]["value"]["messages"]:
        message["timestamp"] = str(sim.ts())
    return body


async def on_writer(sim: Sim, sql: str) -> Any:
    """Run one statement on the writer's own connection (a PRAGMA that only it obeys)."""
    writer = sim.runtime.store._writer  # type: ignore[attr-defined]
    return await writer.submit(lambda conn: conn.execute(sql).fetchone())


def stored(db: Path, prefix: str) -> tuple[int, int]:
    """Inbox rows and messages of the webhooks whose ids start with `prefix`."""
    with sqlite3.connect(db) as conn:
        inbox = conn.execute(
            "SELECT count(*) FROM inbox WHERE dedupe_key LIKE ?", (f"%wamid.{prefix}.%",)
        ).fetchone()[0]
        messages = conn.execute(
            "SELECT count(*) FROM messages WHERE provider_message_id LIKE ?",
            (f"wamid.{prefix}.%",),
        ).fetchone()[0]
    return inbox, messages


async def refused(sim: Sim, body: dict[str, Any]) -> Any:
    """POST the webhook signed, and return the response whatever its status."""
    raw = json.dumps(body).encode()
    response = await sim.client.post(
        "/webhooks/whatsapp", data=raw, headers={"X-Hub-Signature-256": sign(raw, APP_SECRET)}
    )
    return response


async def test_a_full_disk_is_answered_503_and_recovers(sim: Sim, db_path: Path) -> None:
    """With no page left (`PRAGMA max_page_count` on the writer's connection), a webhook is
    answered 503 with Retry-After and leaves no trace; once pages are allowed again, Meta's
    retry of the same webhook is stored once and every customer is answered."""
    await sim.customer_says("447700900123", "hi")
    await on_writer(sim, "PRAGMA max_page_count = 1")  # no more pages than it has now
    body = await stamped(sim, batch("full", 20))
    response = await refused(sim, body)
    assert response.status == 503
    assert response.headers["Retry-After"] == "5"
    assert (await response.json())["error"]["code"] == "store_unavailable"
    assert stored(db_path, "full") == (0, 0), "nothing half-written"
    await on_writer(sim, "PRAGMA max_page_count = 1073741823")
    again = await sim.post_cloud(body)
    assert again == {"accepted": 20, "duplicates": 0, "ignored": 0}
    await sim.settle()
    assert stored(db_path, "full") == (20, 20)
    assert sim.sent_texts().count(MENU) == 21


async def test_a_locked_database_is_answered_503_and_recovers(sim: Sim, db_path: Path) -> None:
    """Another connection holding the write lock past the writer's busy timeout: 503 with
    Retry-After, nothing stored; when it lets go, the next delivery is stored and answered."""
    await on_writer(sim, "PRAGMA busy_timeout = 50")
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        body = await stamped(sim, batch("locked", 2, size=10))
        response = await refused(sim, body)
        assert response.status == 503
        assert response.headers["Retry-After"] == "5"
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert stored(db_path, "locked") == (0, 0)
    assert await sim.post_cloud(body) == {"accepted": 2, "duplicates": 0, "ignored": 0}
    await sim.settle()
    assert stored(db_path, "locked") == (2, 2)
    assert sim.sent_texts() == [MENU, MENU]


async def test_a_step_waits_out_a_passing_fault(make_sim: MakeSim, db_path: Path) -> None:
    """The webhook was acknowledged, so its step cannot be refused: a commit that fails with
    StoreUnavailable is tried again, and the reply goes once, without a restart."""
    sim = await make_sim()
    store = sim.runtime.store
    commit_step = store.commit_step
    failures = 2

    async def flaky(commit: Any) -> None:
        nonlocal failures
        if failures:
            failures -= 1
            raise StoreUnavailable("database or disk is full")
        await commit_step(commit)

    store.commit_step = flaky  # type: ignore[method-assign]
    await sim.customer_says("447700900123", "hi")
    await sim.settle()
    assert failures == 0
    assert sim.sent_texts() == [MENU]
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM inbox WHERE processed_at IS NULL").fetchone() == (
            0,
        )


async def test_a_send_outcome_waits_out_a_passing_fault(make_sim: MakeSim, db_path: Path) -> None:
    """The provider has the message: if recording that fails for a while, the record is
    tried again, not the send (which would go twice)."""
    sim = await make_sim()
    store = sim.runtime.store
    mark_sent = store.mark_sent
    failures = 3

    async def flaky(*args: Any) -> None:
        nonlocal failures
        if failures:
            failures -= 1
            raise StoreUnavailable("database is locked")
        await mark_sent(*args)

    store.mark_sent = flaky  # type: ignore[method-assign]
    await sim.customer_says("447700900123", "hi")
    await sim.settle()
    await sim.customer_says("447700900123", "hello")
    assert sim.sent_texts() == [MENU, MENU]
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT status, attempts FROM outbox").fetchall() == [
            ("sent", 1),
            ("sent", 1),
        ]
