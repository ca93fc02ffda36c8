"""The durable floor: what any intake that commits before its 200 must spend, nothing else.
aiohttp reads the body, checks `X-Hub-Signature-256`, msgspec decodes the Cloud envelope
into a minimal Struct, and one row per message goes to SQLite (WAL, synchronous=FULL) through
ONE writer thread with group commit (all that queued while a commit ran goes into the next
transaction; one wake-up of the loop per batch). The 200 goes once the rows are committed.
"""

from __future__ import annotations

import argparse
import asyncio
import queue
import sqlite3
import threading

import msgspec
from aiohttp import web

from gateway.signature import valid_signature


class Text(msgspec.Struct):
    body: str = ""


class Message(msgspec.Struct, rename={"sender": "from"}):
    id: str
    sender: str
    timestamp: str
    text: Text | None = None


class Value(msgspec.Struct):
    messages: list[Message] = []


class Change(msgspec.Struct):
    value: Value


class Entry(msgspec.Struct):
    changes: list[Change] = []


class Envelope(msgspec.Struct):
    entry: list[Entry] = []


DECODER = msgspec.json.Decoder(Envelope)
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS inbox (id INTEGER PRIMARY KEY, wamid TEXT NOT NULL UNIQUE,"
    " sender TEXT NOT NULL, ts INTEGER NOT NULL, body TEXT, payload BLOB NOT NULL)"
)
INSERT = "INSERT OR IGNORE INTO inbox (wamid, sender, ts, body, payload) VALUES (?, ?, ?, ?, ?)"
Row = tuple[str, str, int, str | None, bytes]


class GroupWriter:  # one thread owns the connection; a commit takes all that queued before it
    def __init__(self, path: str, synchronous: str) -> None:
        self._queue: queue.SimpleQueue[tuple[list[Row], asyncio.Future[None]]] = queue.SimpleQueue()
        self._loop = asyncio.get_running_loop()
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute(f"PRAGMA synchronous={synchronous}")
        self.conn.execute(SCHEMA)
        threading.Thread(target=self._run, name="floor-writer", daemon=True).start()

    def write(self, rows: list[Row]) -> asyncio.Future[None]:
        future = self._loop.create_future()
        self._queue.put((rows, future))
        return future

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]  # blocks until there is work
            while not self._queue.empty():  # the only consumer: get_nowait cannot fail
                batch.append(self._queue.get_nowait())
            rows = [row for rows, _ in batch for row in rows]
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                self.conn.executemany(INSERT, rows)
                self.conn.execute("COMMIT")
                error: BaseException | None = None
            except sqlite3.Error as exc:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                error = exc
            self._loop.call_soon_threadsafe(_resolve, [f for _, f in batch], error)


def _resolve(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if not future.done():
            future.set_result(None) if error is None else future.set_exception(error)


async def receive(request: web.Request) -> web.Response:
    raw = await request.read()
    if not valid_signature(raw, request.headers.get("X-Hub-Signature-256"), SECRET):
        return web.Response(status=401, text="invalid signature")
    try:
        envelope = DECODER.decode(raw)
    except msgspec.DecodeError:
        return web.Response(status=400, text="invalid body")
    rows: list[Row] = [
        (m.id, m.sender, int(m.timestamp), m.text.body if m.text else None, raw)
        for entry in envelope.entry
        for change in entry.changes
        for m in change.value.messages
    ]
    if rows:
        await request.app[WRITER].write(rows)
    return web.Response(
        body=b'{"accepted":%d,"duplicates":0,"ignored":0}' % len(rows),
        content_type="application/json",
    )


async def healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


WRITER = web.AppKey("writer", GroupWriter)
SECRET = ""


def main() -> None:
    global SECRET
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8182)
    parser.add_argument("--db", required=True)
    parser.add_argument("--secret", default="bench-app-secret")
    parser.add_argument("--synchronous", default="FULL", choices=["FULL", "NORMAL"])
    args = parser.parse_args()
    SECRET = args.secret

    async def start(app: web.Application) -> None:
        app[WRITER] = GroupWriter(args.db, args.synchronous)

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.on_startup.append(start)
    app.router.add_post("/webhooks/whatsapp", receive)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
