"""The README's first hour, as written: its shell blocks run in order, with curl, against
`run.py` started on the shipped settings, reach a paused conversation and an answered
live-agent chat. And the first minutes of running it: a port in use, a clean stop."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sim import REPO, cloud_text

START_TIMEOUT = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def readme_blocks() -> list[str]:
    """The shell blocks of "A first hour", in order."""
    text = (REPO / "README.md").read_text()
    hour = text[text.index("## A first hour") :]
    hour = hour[: hour.index("\n## ", 5)]
    return re.findall(r"```sh\n(.*?)```", hour, flags=re.S)


class Gateway:
    """`python run.py` on a copy of the shipped settings and flows, in its own folder."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        shutil.copy(REPO / "settings.toml", folder / "settings.toml")
        shutil.copytree(REPO / "flows", folder / "flows")
        env = {**os.environ, "GATEWAY_ADMIN_TOKEN": "dev-admin-token"}
        self.process = subprocess.Popen(
            [sys.executable, str(REPO / "run.py"), "--settings", "settings.toml",
             "--port", str(port)],
            cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.log: list[str] = []
        for line in self._lines():
            if '"event": "listening"' in line:
                return
        raise AssertionError("the gateway did not start:\n" + "".join(self.log))

    def _lines(self) -> Iterator[str]:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.log.append(line)
            yield line

    def stop(self) -> int:
        self.process.terminate()
        try:
            out, _ = self.process.communicate(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        self.log.extend(out.splitlines(keepends=True))
        return self.process.returncode


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    running = Gateway(tmp_path, free_port())
    yield running
    if running.process.poll() is None:
        running.stop()


@pytest.mark.skipif(shutil.which("curl") is None, reason="the README's commands use curl")
def test_the_readme_walk_through_works_as_written(gateway: Gateway) -> None:
    # A person reads between two steps; the script waits until the gateway has processed
    # what it was sent (a webhook's 200 means stored, not yet handled by its conversation).
    settle = (
        f"settle() {{ for _ in $(seq 1 400); do curl -s localhost:{gateway.port}/healthz"
        " | grep -q '\"unprocessed\":0' && return; sleep 0.025; done; }\n"
    )
    script = (
        "set -euo pipefail\n"
        + settle
        + "\n".join(
            f"settle\necho '--- step {i}'\n"
            + block.replace("localhost:8080", f"localhost:{gateway.port}").replace(
                "\ncurl", "\nsettle\ncurl"
            )
            for i, block in enumerate(readme_blocks(), 1)
        )
    )
    script = script.replace("curl -s ", "curl -s -w '\\n' ")
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    steps = done.stdout.split("--- step ")[1:]
    assert len(steps) == 6
    cloud, look, wati, resume, button, agent = steps
    assert '{"accepted":1,"duplicates":0,"ignored":0}' in cloud
    conversation = json.loads(look.splitlines()[1])["items"][0]
    pauses = json.loads(wati.splitlines()[2])
    assert [p["conversation_id"] for p in pauses["items"]] == [conversation["id"]]
    assert '"removed":true' in resume
    waiting = json.loads(button.splitlines()[2])
    assert [s["conversation_id"] for s in waiting["items"]] == [conversation["id"]]
    *_, read, answered, ended = agent.strip().splitlines()
    assert json.loads(answered)["sender_type"] == "agent"
    assert json.loads(ended)["end_reason"] == "agent"
    assert json.loads(read)["items"], "the agent read the chat"
    assert gateway.stop() == 0
    sent = [json.loads(line) for line in gateway.log if '"would_send"' in line]
    assert len(sent) >= 3, "the menu, the connecting notice, Noa's reply"
    assert all("447700900123" not in json.dumps(line) for line in sent), "phones are masked"


def test_a_port_in_use_is_one_line_and_nothing_starts(tmp_path: Path) -> None:
    """One line naming the port and --port, a non-zero exit, and no database opened."""
    shutil.copy(REPO / "settings.toml", tmp_path / "settings.toml")
    shutil.copytree(REPO / "flows", tmp_path / "flows")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, str(REPO / "run.py"), "--port", str(port)],
            cwd=tmp_path, capture_output=True, text=True, timeout=START_TIMEOUT, check=False,
        )  # fmt: skip
    assert done.returncode != 0
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert str(port) in lines[0] and "--port" in lines[0]
    assert not (tmp_path / "data").exists(), "the runtime did not start"


def test_after_a_clean_stop_the_database_file_alone_is_complete(gateway: Gateway) -> None:
    """SIGTERM: the gateway stops, exits 0 and checkpoints the WAL; a copy of the database
    file alone has every message."""
    body = cloud_text("447700900123", "hi", wamid="wamid.STOP", ts=1_800_000_000)
    request = urllib.request.Request(
        f"http://127.0.0.1:{gateway.port}/webhooks/whatsapp",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=START_TIMEOUT) as answer:
        assert json.load(answer)["accepted"] == 1
    assert gateway.stop() == 0
    database = gateway.folder / "data" / "gateway.db"
    wal = Path(f"{database}-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    alone = gateway.folder / "copy.db"
    shutil.copy(database, alone)
    with sqlite3.connect(alone) as conn:
        (count,) = conn.execute("SELECT count(*) FROM messages").fetchone()
    assert count == 2, "Dana's message and the bot's menu"
