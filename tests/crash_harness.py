"""The crash test's machinery: `run.py` as a subprocess that can be killed (`kill -9`) and
started again on the same database, a fake Graph API that records every send it receives
and, like Meta, posts a `sent` status back for each, and a webhook client that retries a
refused or broken delivery until it is answered 200, like Meta does.

Everything runs on the test's event loop except the gateway itself. The record kept here
(what was acknowledged, what was sent) is compared with the gateway's database at the end,
Jepsen-style: the test's figures come from `Figures`.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from gateway.signature import sign
from tests.browser.gateway_process import free_port, settings_toml
from tests.fake_graph import FakeGraph, RecordedRequest
from tests.sim import ADMIN_TOKEN, APP_SECRET, BUSINESS, REPO, cloud_envelope

ACCESS_TOKEN = "crash-token"
START_TIMEOUT = 30.0  # seconds for run.py to answer /healthz 200
POLL = 0.05  # seconds between two polls of a condition (polling state, not waiting a timer)


@dataclass
class Figures:
    """What the client saw: webhooks posted and acknowledged, refusals, kills."""

    posted: int = 0  # distinct webhooks (each counted once, however often retried)
    acknowledged: int = 0
    attempts: int = 0  # HTTP attempts, retries included
    refused: int = 0  # attempts answered with something else than 200
    broken: int = 0  # attempts that got no answer (refused connection, reset)
    duplicates_answered: int = 0  # 200s saying "duplicate": a retry of a stored webhook
    kills: int = 0
    statuses_posted: int = 0
    acked_wamids: set[str] = field(default_factory=set)


class GatewayUnderTest:
    """`python run.py` on `folder`'s settings; `kill()` is SIGKILL, `terminate()` SIGTERM."""

    def __init__(self, folder: Path, extra_toml: str, env: dict[str, str]) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.db_path = folder / "gateway.db"
        self.settings_path = folder / "settings.toml"
        self.settings_path.write_text(settings_toml(folder, extra_toml))
        self.log_path = folder / "gateway.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("WHATSAPP_", "WATI_"))},
            "GATEWAY_ADMIN_TOKEN": ADMIN_TOKEN,
            "WHATSAPP_APP_SECRET": APP_SECRET,
            "WHATSAPP_TOKEN": ACCESS_TOKEN,
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self, session: aiohttp.ClientSession) -> float:
        """Start run.py and wait until /healthz answers 200; returns the seconds it took."""
        began = time.monotonic()
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, str(REPO / "run.py"), "--settings", str(self.settings_path),
                "--host", "127.0.0.1", "--port", str(self.port),
                cwd=self.folder, env=self.env, stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
        self.starts += 1
        while time.monotonic() - began < START_TIMEOUT:
            if self.process.returncode is not None:
                raise AssertionError(f"run.py exited at start:\n{self.log_tail()}")
            try:
                async with session.get(self.base_url + "/healthz") as answer:
                    if answer.status == 200:
                        return time.monotonic() - began
            except (aiohttp.ClientError, OSError):
                pass
            await asyncio.sleep(POLL)
        raise AssertionError(f"run.py not healthy in {START_TIMEOUT} s:\n{self.log_tail()}")

    async def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed, the WAL stays as it was."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def terminate(self, within: float) -> int:
        """SIGTERM and wait (SIGKILL after `within` seconds, and fail)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), within)
        except TimeoutError:
            await self.kill()
            raise AssertionError(f"no exit {within} s after SIGTERM:\n{self.log_tail()}") from None

    async def health(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        async with session.get(self.base_url + "/healthz") as answer:
            return dict(await answer.json())

    async def api(self, session: aiohttp.ClientSession, path: str) -> Any:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with session.get(self.base_url + path, headers=headers) as answer:
            assert answer.status == 200, f"GET {path}: {answer.status} {await answer.text()}"
            return await answer.json()

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def log_events(self, event: str) -> list[dict[str, Any]]:
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("event") == event:
                found.append(entry)
        return found

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """A read of the gateway's database file (read-only; fine while it runs, in WAL)."""
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()


class WebhookClient:
    """Posts signed Cloud API webhooks; a refusal or a broken connection is retried after a
    short backoff until the answer is 200 (Meta retries any non-200)."""

    def __init__(
        self, session: aiohttp.ClientSession, gateway: GatewayUnderTest, rng: random.Random
    ) -> None:
        self.session = session
        self.gateway = gateway
        self.rng = rng
        self.figures = Figures()

    async def deliver(self, payload: dict[str, Any], wamid: str | None = None) -> dict[str, Any]:
        raw = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": sign(raw, APP_SECRET),
        }
        figures = self.figures
        figures.posted += 1
        backoff = 0.05
        while True:
            figures.attempts += 1
            try:
                async with self.session.post(
                    self.gateway.base_url + "/webhooks/whatsapp", data=raw, headers=headers
                ) as answer:
                    if answer.status == 200:
                        result = dict(await answer.json())
                        figures.acknowledged += 1
                        figures.duplicates_answered += int(result.get("duplicates", 0))
                        if wamid is not None:
                            figures.acked_wamids.add(wamid)
                        return result
                    figures.refused += 1
            except (aiohttp.ClientError, OSError, TimeoutError):
                figures.broken += 1
            await asyncio.sleep(backoff * (0.5 + self.rng.random()))
            backoff = min(backoff * 2, 0.4)


class StatusEcho:
    """Like Meta: for every send the fake Graph accepts, a `sent` status webhook naming the
    message and its `biz_opaque_callback_data` is posted back, after `delay` seconds."""

    def __init__(self, client: WebhookClient, delay: float) -> None:
        self.client = client
        self.delay = delay
        self.tasks: set[asyncio.Task[None]] = set()

    def __call__(self, record: RecordedRequest) -> None:
        task = asyncio.get_running_loop().create_task(self._post(record))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _post(self, record: RecordedRequest) -> None:
        await asyncio.sleep(self.delay)
        assert record.wamid is not None
        body = cloud_envelope(BUSINESS, [], [])
        value = body["entry"][0]["changes"][0]["value"]
        del value["messages"]
        status = {
            "id": record.wamid,
            "status": "sent",
            "timestamp": str(int(time.time())),
            "recipient_id": str(record.body.get("to", "")).lstrip("+"),
        }
        if isinstance(record.body.get("biz_opaque_callback_data"), str):
            status["biz_opaque_callback_data"] = record.body["biz_opaque_callback_data"]
        value["statuses"] = [status]
        self.client.figures.statuses_posted += 1
        await self.client.deliver(body)

    async def drain(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks))


def sends_by_outbox_id(graph: FakeGraph) -> Counter[int]:
    """How many times the fake Graph received each outbox row (accepted requests only)."""
    return Counter(r.outbox_id for r in graph.accepted() if r.outbox_id is not None)


async def wait_until(condition: Any, within: float, what: str) -> None:
    """Poll `condition()` (sync or async) until true; fail naming `what` after `within` s."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {within} s: {what}")
        await asyncio.sleep(POLL)
