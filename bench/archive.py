"""Archive: seed 002's large case. 100k messages over 1,000 conversations archived through
`POST /api/conversations/archive` (one call of 1,000 ids) while webhooks for other
conversations keep coming at a steady rate, then restored by 1,000
`POST /api/conversations/unarchive` calls, 8 at a time.

The database is seeded straight through the storage layer (conversation rows and snapshots
as `conversation_row` builds them, message rows through `messages.insert`), once, and copied
for each run. The gateway runs on the server core; a driver process on the client core sends
the webhooks open-loop (each at its scheduled instant, whatever the answers before it, its
ack time counted from that instant) and makes the API calls. Baselines, same run: the ack
times at the same webhook rate with nothing else running, and the SQLite floor for the
moves (the same chunks moved and restored by one plain connection, no actors, no HTTP).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import (
    CLIENT_CORE,
    PYTHON,
    REPO,
    RUNS,
    SERVER_CORE,
    WORK,
    Row,
    Server,
    free_port,
    median_spread,
    pinned,
    print_table,
    write_settings,
)
from bench.openloop import Load, summary
from bench.payloads import APP_SECRET
from bench.seed import seed_history

SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
CONVERSATIONS = 1_000
PER_CONVERSATION = 100
MESSAGES = CONVERSATIONS * PER_CONVERSATION
RATE = 150.0  # webhooks/s during every phase: moderate, under a tenth of the intake peak
WEBHOOK_CUSTOMERS = 2_000  # other conversations the webhooks go to
RESTORE_CONCURRENCY = 8
WARM_SECONDS = 2.0
LEAD_SECONDS = 0.5  # webhooks flowing before the archive (or restore) starts
ADMIN_TOKEN = "bench-admin-token"
SEED_PHONES = "4476"  # the archived customers; the webhooks' are 4475...
TARGET_P99_MS = 100.0
# No scheduled job may start during a run (the archive job's default is 03:00 UTC).
JOBS_OFF = '\n[jobs]\ncleanup = ""\narchive = ""\nsync = ""\nmetadata = ""\n'

# --- seeding ------------------------------------------------------------------------


def seed_archive_db(path: Path, now: datetime) -> list[str]:
    """1,000 conversations of 100 messages each; message ids 1..100,000."""
    return seed_history(
        path, now, conversations=CONVERSATIONS, per_conversation=PER_CONVERSATION,
        phones=SEED_PHONES, name="Archived",
    )  # fmt: skip


def fingerprint(path: Path) -> str:
    """A digest of every column of every seeded message (ids 1..100,000), in id order."""
    digest = hashlib.sha256()
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT * FROM messages WHERE id <= ? ORDER BY id", (MESSAGES,))
        count = 0
        for row in rows:
            digest.update(repr(row).encode())
            count += 1
    return f"{count}:{digest.hexdigest()}"


def _scalar(path: Path, sql: str, params: tuple[Any, ...] = ()) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return int(conn.execute(sql, params).fetchone()[0] or 0)


# --- the SQLite floor ---------------------------------------------------------------


def floor(path: Path) -> dict[str, float]:
    """The same moves with no actor, no HTTP and nothing interleaved: per conversation, one
    write marking it archived and one moving its chunk (as the gateway commits them), then
    one write per conversation unmarking and restoring it."""
    from storage.sqlite import archives
    from storage.sqlite.writer import open_write_connection

    conn = open_write_connection(str(path), "FULL")
    ids = [r[0] for r in conn.execute("SELECT id FROM conversations ORDER BY id")]
    at = datetime.now(UTC).isoformat()
    start = time.perf_counter()
    moved = 0
    for cid in ids:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE conversations SET archived_at = ?, archive_reason = 'bench' WHERE id = ?",
            (at, cid),
        )
        conn.execute("COMMIT")
        conn.execute("BEGIN IMMEDIATE")
        moved += archives.move_chunk(conn, cid, True, at)[0]
        conn.execute("COMMIT")
    archived = time.perf_counter() - start
    start = time.perf_counter()
    restored = 0
    for cid in ids:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE conversations SET archived_at = NULL, archive_reason = NULL WHERE id = ?",
            (cid,),
        )
        restored += archives.restore(conn, cid)
        conn.execute("COMMIT")
    restore_s = time.perf_counter() - start
    conn.close()
    assert moved == restored == MESSAGES, (moved, restored)
    return {"archive_s": archived, "restore_s": restore_s}


# --- the driver (client core) -------------------------------------------------------


async def _json(http: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with http.request(method, url, json=body, headers=headers) as response:
        data = await response.json()
        if response.status != 200:
            raise RuntimeError(f"{method} {url}: {response.status} {data}")
        return data


async def _quiet_stats(http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    """Database stats once the webhooks' steps have all committed (two equal readings)."""
    last: dict[str, Any] = {}
    while True:
        stats = await _json(http, "GET", f"{url}/api/database/stats")
        if last and stats["tables"] == last["tables"]:
            return dict(stats)
        last = stats
        await asyncio.sleep(0.3)


async def drive(url: str, db: Path, chat_ids: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    connector = aiohttp.TCPConnector(limit=512)
    timeout = aiohttp.ClientTimeout(total=900)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        load = Load(http, url, "arc", rate=RATE, customers=WEBHOOK_CUSTOMERS)
        await load.for_seconds(WARM_SECONDS)
        start, end = await load.for_seconds(SECONDS)
        out["baseline"] = summary(load.window(start, end))

        # Archive: one call of the 1,000 ids while the webhooks keep coming.
        before = await _quiet_stats(http, url)
        max_before = _scalar(db, "SELECT max(id) FROM messages")
        stop = asyncio.Event()
        runner = asyncio.create_task(load.run(stop))
        await asyncio.sleep(LEAD_SECONDS)
        start = time.perf_counter()
        body = {"chat_ids": chat_ids, "reason": "bench", "compress": True}
        result = await _json(http, "POST", f"{url}/api/conversations/archive", body)
        end = time.perf_counter()
        stop.set()
        await runner
        out["archive_s"] = end - start
        out["archive"] = summary(load.window(start, end))
        out["archive_result"] = {k: v for k, v in result.items() if k != "skipped"}
        out["archive_skipped"] = len(result["skipped"])
        after = await _quiet_stats(http, url)
        webhook_messages = _scalar(db, "SELECT count(*) FROM messages WHERE id > ?", (max_before,))
        out["check_archive"] = {
            "messages_before": before["tables"]["messages"],
            "messages_after": after["tables"]["messages"],
            "webhook_messages": webhook_messages,
            "dropped": before["tables"]["messages"] + webhook_messages
            - after["tables"]["messages"],
            "archive_rows": after["tables"]["message_archives"],
            "archived_messages": after["archived_messages"],
            "archived_conversations": after["archived_conversations"],
            "archive_bytes": after["archive_bytes"],
            "seeded_left": _scalar(db, "SELECT count(*) FROM messages WHERE id <= ?", (MESSAGES,)),
        }  # fmt: skip

        # Restore: 1,000 unarchive calls, RESTORE_CONCURRENCY at a time, webhooks still on.
        stop = asyncio.Event()
        runner = asyncio.create_task(load.run(stop))
        await asyncio.sleep(LEAD_SECONDS)
        gate = asyncio.Semaphore(RESTORE_CONCURRENCY)
        restored: list[int] = []

        async def unarchive(cid: str) -> None:
            async with gate:
                answer = await _json(
                    http, "POST", f"{url}/api/conversations/unarchive", {"chat_id": cid}
                )
                restored.append(int(answer["restored"]))

        start = time.perf_counter()
        await asyncio.gather(*(unarchive(cid) for cid in chat_ids))
        end = time.perf_counter()
        stop.set()
        await runner
        out["restore_s"] = end - start
        out["restore"] = summary(load.window(start, end))
        # what the answers said (`restored`: message_count after minus before, both read
        # by the route), apart from what the database holds
        out["restored_reported"] = sum(restored)
        out["restored_short"] = sum(n != PER_CONVERSATION for n in restored)
        out["restored_short_values"] = sorted({n for n in restored if n != PER_CONVERSATION})
        final = await _quiet_stats(http, url)
        out["check_restore"] = {
            "archive_rows": final["tables"]["message_archives"],
            "archived_conversations": final["archived_conversations"],
            "seeded_back": _scalar(db, "SELECT count(*) FROM messages WHERE id <= ?", (MESSAGES,)),
        }
        out["errors"] = sum(s.status != 200 for s in load.samples)
        out["webhooks"] = len(load.samples)
    return out


# --- one run and the table ----------------------------------------------------------


def _child(*args: str, core: str) -> dict[str, Any]:
    argv = pinned(core, [PYTHON, "-m", "bench.archive", *args])
    done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench.archive {args[0]} failed:\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _gateway(db: Path) -> Server:
    port = free_port()
    settings = write_settings(WORK / "archive.toml", port=port, db=db, extra=JOBS_OFF)
    text = settings.read_text().replace('synchronous = "NORMAL"', 'synchronous = "FULL"')
    settings.write_text(text)
    return Server(
        [PYTHON, str(REPO / "run.py"), "--settings", str(settings)],
        f"http://127.0.0.1:{port}/healthz",
        env={"WHATSAPP_APP_SECRET": APP_SECRET, "GATEWAY_ADMIN_TOKEN": ADMIN_TOKEN},
        log_name="archive-server.log",
    )


def measure_once(seed: Path, ids_file: Path, expected: str) -> dict[str, Any]:
    db = WORK / "archive.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(seed, db)
    with _gateway(db) as gateway:
        url = gateway.health_url.removesuffix("/healthz")
        m = _child("drive", url, str(db), str(ids_file), core=CLIENT_CORE)
    a, r = m["check_archive"], m["check_restore"]
    assert m["archive_skipped"] == 0 and m["archive_result"]["archived"] == CONVERSATIONS, m
    assert m["archive_result"]["messages"] == MESSAGES, m
    assert a["dropped"] == MESSAGES and a["seeded_left"] == 0, a
    assert a["archived_messages"] == MESSAGES and a["archive_rows"] == CONVERSATIONS, a
    assert a["archived_conversations"] == CONVERSATIONS, a
    assert r["seeded_back"] == MESSAGES, r
    assert r["archive_rows"] == 0 and r["archived_conversations"] == 0, r
    assert m["errors"] == 0, f"{m['errors']} webhooks not acknowledged with 200"
    got = fingerprint(db)
    assert got == expected, f"restored messages differ: {got} != {expected}"
    counts = _scalar(
        db, "SELECT sum(message_count) FROM conversations WHERE phone LIKE ?", (f"{SEED_PHONES}%",)
    )
    assert counts == MESSAGES, counts
    # the floor, on a fresh copy of the same database
    shutil.copyfile(seed, db)
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    m["floor"] = _child("floor", str(db), core=SERVER_CORE)
    return m


def run() -> list[Row]:
    WORK.mkdir(parents=True, exist_ok=True)
    seed = WORK / "archive-seed.db"
    ids_file = WORK / "archive-ids.json"
    started = time.perf_counter()
    ids = seed_archive_db(seed, datetime.now(UTC).replace(microsecond=0))
    ids_file.write_text(json.dumps(ids))
    expected = fingerprint(seed)
    print(f"archive: seeded {MESSAGES:,} messages in {time.perf_counter() - started:.1f} s",
          file=sys.stderr, flush=True)  # fmt: skip
    runs = [measure_once(seed, ids_file, expected) for _ in range(RUNS)]

    def values(*path: str) -> list[float]:
        found = []
        for m in runs:
            value: Any = m
            for key in path:
                value = value[key]
            found.append(float(value))
        return found

    def rate(seconds: list[float]) -> list[float]:
        return [MESSAGES / s for s in seconds]

    arc_rate, arc_rate_spread = median_spread(rate(values("archive_s")))
    arc_s, arc_s_spread = median_spread(values("archive_s"))
    res_rate, res_rate_spread = median_spread(rate(values("restore_s")))
    res_s, res_s_spread = median_spread(values("restore_s"))
    floor_arc_s = statistics.median(values("floor", "archive_s"))
    floor_res_s = statistics.median(values("floor", "restore_s"))
    base = {q: statistics.median(values("baseline", q)) for q in ("p50", "p99", "max")}
    during = {q: median_spread(values("archive", q)) for q in ("p50", "p99", "max")}
    restore = {q: median_spread(values("restore", q)) for q in ("p50", "p99", "max")}
    short, short_spread = median_spread(values("restored_short"))
    load_rate = statistics.median(values("archive", "rps"))
    samples = int(statistics.median(values("archive", "n")))
    floor_name = "SQLite floor: same chunks, one loop"
    rows = [
        Row("archive", f"messages/s archived ({MESSAGES:,} in {CONVERSATIONS:,} conv., 1 call)",
            arc_rate, "msg/s", MESSAGES / floor_arc_s, floor_name, "", None, arc_rate_spread),
        Row("archive", "wall time, call to every message moved", arc_s, "s", floor_arc_s,
            floor_name, "", None, arc_s_spread),
    ]  # fmt: skip
    for q, target in (("p50", ""), ("p99", f"< {TARGET_P99_MS:.0f} ms"), ("max", "")):
        value, spread = during[q]
        rows.append(
            Row(
                "archive",
                f"{q} ack during the archive ({load_rate:,.0f} webhooks/s, {samples:,} acks)",
                value,
                "ms",
                base[q],
                "same rate, no archive",
                target,
                value < TARGET_P99_MS if target else None,
                spread,
            )
        )
    rows += [
        Row("restore", f"messages/s restored ({CONVERSATIONS:,} calls, {RESTORE_CONCURRENCY}"
            " at a time)", res_rate, "msg/s", MESSAGES / floor_res_s, floor_name, "", None,
            res_rate_spread),
        Row("restore", "wall time, first call to last restored", res_s, "s", floor_res_s,
            floor_name, "", None, res_s_spread),
        Row("restore", "p99 ack during the restore", restore["p99"][0], "ms", base["p99"],
            "same rate, no archive", "", None,
            f"{restore['p99'][1]}; max {restore['max'][0]:,.1f}"),
        Row("restore", f"answers whose `restored` is not {PER_CONVERSATION} (database: all back)",
            short, "calls", None, "", "0", short == 0, short_spread),
    ]  # fmt: skip
    for n, m in enumerate(runs):
        print(f"archive run {n}: " + json.dumps({k: m[k] for k in sorted(m)}), file=sys.stderr)
        if m["restored_short"]:
            print(f"archive run {n}: {m['restored_short']} unarchive answers said `restored`"
                  f" {m['restored_short_values']} (every message is back in the database)",
                  file=sys.stderr)  # fmt: skip
    return rows


def _main(argv: list[str]) -> None:
    if len(argv) > 1 and argv[1] == "drive":
        url, db, ids_file = argv[2], Path(argv[3]), Path(argv[4])
        ids = json.loads(ids_file.read_text())
        print(json.dumps(asyncio.run(drive(url, db, ids))))
    elif len(argv) > 1 and argv[1] == "floor":
        print(json.dumps(floor(Path(argv[2]))))
    else:
        print_table(run())


if __name__ == "__main__":
    _main(sys.argv)
