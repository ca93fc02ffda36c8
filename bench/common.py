"""Shared benchmark plumbing: servers pinned to one core, wrk pinned to the other, medians
and spreads of repeated runs, and the result table."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = Path(os.environ.get("BENCH_DIR", "/tmp/gateway-bench"))
SERVER_CORE = os.environ.get("BENCH_SERVER_CORE", "0")
CLIENT_CORE = os.environ.get("BENCH_CLIENT_CORE", "1")
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
PYTHON = sys.executable


@dataclass
class Row:
    """One line of the result table: a measured value against its baseline."""

    bench: str
    metric: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    met: bool | None = None
    spread: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline  # type: ignore[operator]


def print_table(rows: list[Row]) -> None:
    header = ("bench", "metric", "value", "baseline", "ratio", "target", "met", "runs")
    lines = [header]
    for r in rows:
        baseline = "" if r.baseline is None else f"{r.baseline:,.1f} {r.unit} ({r.baseline_name})"
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}"
        met = "" if r.met is None else ("yes" if r.met else "NO")
        lines.append(
            (
                r.bench,
                r.metric,
                f"{r.value:,.1f} {r.unit}",
                baseline,
                ratio,
                r.target,
                met,
                r.spread,
            )
        )
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    for n, line in enumerate(lines):
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def median_spread(values: list[float]) -> tuple[float, str]:
    """The median and the spread (min-max) of repeated runs."""
    med = statistics.median(values)
    return med, f"n={len(values)} {min(values):,.1f}..{max(values):,.1f}"


def ensure_wrk() -> str:
    """wrk from Debian; installed if missing (the benchmarks need a load generator that is
    not the bottleneck, in C, on its own core)."""
    found = shutil.which("wrk")
    if found:
        return found
    apt = ["apt-get", "install", "-y", "--no-install-recommends", "wrk"]
    if subprocess.run(apt, capture_output=True, check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True, check=False)
        subprocess.run(apt, capture_output=True, check=True)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed and could not be installed")
    return found


def pinned(core: str, argv: list[str]) -> list[str]:
    return ["taskset", "-c", core, *argv] if shutil.which("taskset") else argv


def wait_http(url: str, timeout: float = 60.0) -> float:
    """Poll `url` until it answers 200; returns the seconds it took."""
    start = time.perf_counter()
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return time.perf_counter() - start
        except OSError:
            pass
        if time.perf_counter() - start > timeout:
            raise TimeoutError(f"{url} did not answer within {timeout} s")
        time.sleep(0.005)


class Server:
    """A server process pinned to the server core, stopped on exit."""

    def __init__(
        self,
        argv: list[str],
        health_url: str,
        env: dict[str, str] | None = None,
        cwd: Path = REPO,
        log_name: str = "server.log",
    ) -> None:
        self.argv = argv
        self.health_url = health_url
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_in = 0.0
        self.log_path = WORK / log_name

    def __enter__(self) -> Server:
        self.log_path.unlink(missing_ok=True)
        log = self.log_path.open("ab")
        start = time.perf_counter()
        self.proc = subprocess.Popen(
            pinned(SERVER_CORE, self.argv), cwd=self.cwd, env=self.env, stdout=log, stderr=log
        )
        wait_http(self.health_url)
        self.started_in = time.perf_counter() - start
        return self

    def log_count(self, needle: str) -> int:
        return self.log_path.read_text(errors="replace").count(needle)

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def warm_up(url: str, requests_file: Path) -> None:
    """Two seconds of light load first: connection pools, caches and lazy imports settle."""
    run_wrk(url, requests_file, connections=4, seconds=2)


def run_wrk(
    url: str, requests_file: Path, *, connections: int, seconds: float, delay_ms: float = 0.0
) -> dict[str, float]:
    """wrk on the client core, replaying signed webhooks; the Lua `done` prints JSON."""
    script = REPO / "bench" / "webhook.lua"
    argv = pinned(
        CLIENT_CORE,
        [
            ensure_wrk(),
            "-t1",
            f"-c{connections}",
            f"-d{int(seconds)}s",
            "-s",
            str(script),
            url,
            "--",
            str(requests_file),
            f"{delay_ms:.3f}",
        ],
    )
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    for line in done.stdout.splitlines():
        if line.startswith("JSON "):
            result: dict[str, float] = json.loads(line[5:])
            result["rps"] = result["requests"] / result["seconds"]
            return result
    raise RuntimeError(f"wrk printed no result: {done.stdout} {done.stderr}")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int | None = None) -> float:
    """Resident set size in MiB, from /proc."""
    statm = Path(f"/proc/{pid or 'self'}/statm").read_text().split()
    return int(statm[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def write_settings(path: Path, *, port: int, db: Path, extra: str = "") -> Path:
    path.write_text(
        f'[server]\nport = {port}\n\n[storage]\npath = "{db}"\nsynchronous = "NORMAL"\n\n'
        f'[bot]\nflows_dir = "{REPO / "flows"}"\n\n[log]\nlevel = "warning"\n{extra}'
    )
    return path
