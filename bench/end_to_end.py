"""End to end: what users get. A webhook counts when it is acknowledged AND processed:
stepped, committed, and its reply handed to the (console) provider and marked sent.

Per run, for the same load (wrk on the client core, `webhook.lua`, signed Cloud API text
webhooks over 20k conversations, 32 connections; every server on the server core):

- bare aiohttp (`bare_server.py`): req/s at peak, for scale;
- the durable floor (`floor_server.py`): HMAC check, msgspec decode, one group-committed
  INSERT per message (WAL, synchronous=FULL) before the 200, nothing else: req/s at peak;
- the gateway (synchronous=FULL, the default; console provider; outbound pace off):
  acknowledged req/s during the load, then the time until `/healthz` shows the inbox
  processed (`inbox.unprocessed == 0`, nothing parked, writer queue empty, no send in
  flight) and `/metrics` no pending outbox row. End to end = webhooks acknowledged /
  (load seconds + drain seconds);
- p99 of the ack with 16 connections paced to half the gateway's acknowledged peak, the
  floor at the same pace as its baseline.

The gateway and the floor each keep ONE database across the runs (it grows run by run, as
in production), and every run sends message ids of its own (no duplicates). Each run's
figures are printed so that the drift shows. `BENCH_PROFILE=1` adds one more run under
py-spy and perf (`bench/profile_agg.py` aggregates them into bench/results/).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

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
    run_wrk,
    write_settings,
)
from bench.payloads import APP_SECRET, write_requests

SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
PROFILE = os.environ.get("BENCH_PROFILE", "") not in ("", "0")
CONVERSATIONS = 20_000
REQUESTS = 200_000  # per run and server: more than the bare server answers in SECONDS
PEAK_CONNECTIONS = 32
PACED_CONNECTIONS = 16
RESULTS = REPO / "bench" / "results"
JOBS_OFF = '\n[jobs]\ncleanup = ""\narchive = ""\nsync = ""\nmetadata = ""\n'
PENDING = re.compile(r'^gateway_outbox_rows\{status="pending"\} (\S+)$', re.M)


def _requests(name: str, count: int) -> Path:
    """Signed webhooks with message ids of their own (`name` is the id prefix), cached."""
    path = WORK / f"e2e-{name}.txt"
    if not path.exists():
        write_requests(path.with_suffix(".tmp"), count, CONVERSATIONS, prefix=name)
        path.with_suffix(".tmp").rename(path)
    return path


def _bare() -> Server:
    port = free_port()
    return Server(
        [PYTHON, str(REPO / "bench" / "bare_server.py"), "--port", str(port)],
        f"http://127.0.0.1:{port}/healthz",
        log_name="e2e-bare.log",
    )


def _floor(db: Path) -> Server:
    port = free_port()
    argv = [PYTHON, str(REPO / "bench" / "floor_server.py"), "--port", str(port)]
    return Server(
        [*argv, "--db", str(db), "--secret", APP_SECRET, "--synchronous", "FULL"],
        f"http://127.0.0.1:{port}/healthz",
        log_name="e2e-floor.log",
    )


def _pace_off() -> str:
    """The outbound pace (Meta's 80 sends/s per number) would make the drain measure the
    pace, not the gateway: off, where this tree's settings have it."""
    from gateway.settings import WhatsAppSettings

    if "messages_per_second" in WhatsAppSettings.__struct_fields__:
        return "\n[whatsapp]\nmessages_per_second = 0\n"
    return ""


def _gateway(db: Path) -> Server:
    port = free_port()
    settings = write_settings(
        WORK / "e2e-gateway.toml", port=port, db=db, extra=JOBS_OFF + _pace_off()
    )
    text = settings.read_text().replace('synchronous = "NORMAL"', 'synchronous = "FULL"')
    settings.write_text(text)
    return Server(
        [PYTHON, str(REPO / "run.py"), "--settings", str(settings)],
        f"http://127.0.0.1:{port}/healthz",
        env={"WHATSAPP_APP_SECRET": APP_SECRET},
        log_name="e2e-gateway.log",
    )


def _url(server: Server) -> str:
    return server.health_url.removesuffix("/healthz")


def _get(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            body: bytes = response.read()
            return body
    except urllib.error.HTTPError as exc:  # 503 while not ok: the body still tells
        return exc.read()


def health(base: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(_get(base + "/healthz"))
    return result


def outbox_pending(base: str) -> int:
    found = PENDING.search(_get(base + "/metrics").decode())
    return int(float(found.group(1))) if found else 0


def metric(base: str, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", _get(base + "/metrics").decode(), re.M)
    return float(found.group(1)) if found else 0.0


def _io(server: Server) -> dict[str, int]:
    """/proc/PID/io: bytes through read/write calls (rchar, wchar) and to or from the
    block device (read_bytes, write_bytes)."""
    assert server.proc is not None
    text = Path(f"/proc/{server.proc.pid}/io").read_text()
    return {k: int(v) for k, v in (line.split(": ") for line in text.splitlines())}


def _busy(h: dict[str, Any]) -> int:
    """What is left to do, as far as `/healthz` tells."""
    return (
        int(h["inbox"]["unprocessed"])
        + int(h["parked_conversations"])
        + int(h["writer_backlog"])
        + int(h["outbox_in_flight"])
    )


def wait_drained(base: str, timeout: float = 900.0) -> tuple[float, dict[str, Any]]:
    """Seconds until every acknowledged webhook is processed and every reply sent.

    `/healthz` counts the inbox with a full scan, which costs the gateway CPU: the poll
    interval follows the estimated time left (a quarter of it, 20 ms..1 s), so polling
    takes little from the drain and the last poll comes shortly after the end."""
    start = time.perf_counter()
    last: tuple[float, int] | None = None
    while True:
        now = time.perf_counter()
        h = health(base)
        left = _busy(h)
        if left == 0 and outbox_pending(base) == 0:
            return time.perf_counter() - start, h
        if now - start > timeout:
            raise TimeoutError(f"not drained after {timeout} s: {h}")
        interval = 0.02
        if last is not None and last[1] > left:
            rate = (last[1] - left) / (now - last[0])
            interval = min(1.0, max(0.02, left / rate / 4))
        elif left > 100:
            interval = 0.25
        last = (now, left)
        time.sleep(interval)


def _ok(result: dict[str, float]) -> int:
    return int(result["requests"] - result["non2xx"])


def _check_wrap(result: dict[str, float], count: int, what: str) -> None:
    if result["requests"] > count:
        print(
            f"warning: {what} sent {result['requests']:.0f} > {count} requests: ids repeat",
            file=sys.stderr,
        )


def run_gateway(server: Server, run: str, spy: Path | None = None) -> dict[str, Any]:
    """Warm up, drain, then the peak load and the drain after it (end to end). With `spy`,
    py-spy records from before the load to after the drain, and the threads' CPU is read
    over the same window."""
    base = _url(server)
    run_wrk(base, _requests(f"w{run}", 20_000), connections=4, seconds=2)
    wait_drained(base)
    before = health(base)
    requests = _requests(f"r{run}", REQUESTS)
    batches0 = metric(base, "gateway_writer_batches_total")
    writes0 = metric(base, "gateway_writer_writes_total")
    io0 = _io(server)
    cpu0, core0 = _thread_cpu(server), _core_busy(SERVER_CORE)
    spy_started = time.perf_counter()
    profiler = _spy_start(server, spy) if spy else None
    perf = _perf_start(server, spy.with_name("e2e-perf.data")) if spy else None
    peak = run_wrk(base, requests, connections=PEAK_CONNECTIONS, seconds=SECONDS)
    cpu_load, core_load = _thread_cpu(server), _core_busy(SERVER_CORE)
    drain, after = wait_drained(base)
    if profiler is not None:
        _spy_stop(profiler)
    if perf is not None:
        _spy_stop(perf)
    spy_seconds = time.perf_counter() - spy_started
    cpu1 = _thread_cpu(server)
    io1 = _io(server)
    batches = metric(base, "gateway_writer_batches_total") - batches0
    writes = metric(base, "gateway_writer_writes_total") - writes0
    _check_wrap(peak, REQUESTS, "gateway")
    acked = _ok(peak)
    load_cpu = sum(v[1] - cpu0[t][1] for t, v in cpu_load.items() if t in cpu0)
    out: dict[str, Any] = {
        "rows_before": before["inbox"]["total"],
        "ack_rps": acked / peak["seconds"],
        "load_s": peak["seconds"],
        "drain_s": drain,
        "e2e": acked / (peak["seconds"] + drain),
        "acked": acked,
        "processed": after["inbox"]["total"] - before["inbox"]["total"],
        "non2xx": peak["non2xx"],
        "errors": peak["errors"],
        "p99_peak": peak["p99_ms"],
        # The server's CPU during the load over the load's seconds (wrk's start-up, idle
        # for the server, is inside the window), and what else ran on the server core.
        "server_core_use": load_cpu / peak["seconds"],
        "others_on_core": max(0.0, core_load[0] - core0[0] - load_cpu) / peak["seconds"],
        "irq_on_core": (core_load[1] - core0[1]) / peak["seconds"],
        "cpu_us_per_webhook": 1e6
        * sum(v[1] - cpu0[t][1] for t, v in cpu1.items() if t in cpu0)
        / max(acked, 1),
        # The writer's group commits and SQLite's I/O, per webhook.
        "commits_per_webhook": batches / max(acked, 1),
        "writes_per_commit": writes / max(batches, 1),
        "io_per_webhook": {k: (io1[k] - io0[k]) / max(acked, 1) for k in io0},
        "threads": {
            tid: {"name": name, "cpu_s": cpu1[tid][1] - c, "runqueue_s": cpu1[tid][2] - rq}
            for tid, (name, c, rq) in cpu0.items()
            if tid in cpu1
        },
    }
    if profiler is not None and spy is not None:
        found = re.search(r"Samples: (\d+)", spy.with_suffix(".log").read_text(errors="replace"))
        out["spy"] = {"seconds": spy_seconds, "samples": int(found.group(1)) if found else 0}
    return out


def _paced(base: str, requests: Path, rps: float) -> dict[str, float]:
    delay = PACED_CONNECTIONS * 1000 / rps
    return run_wrk(base, requests, connections=PACED_CONNECTIONS, seconds=SECONDS, delay_ms=delay)


def _thread_cpu(server: Server) -> dict[str, tuple[str, float, float]]:
    """Per thread of the server: its name, seconds on a CPU and seconds runnable but waiting
    for one (`/proc/PID/task/TID/schedstat`)."""
    assert server.proc is not None
    pid = server.proc.pid
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            comm = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
            on_cpu, waiting, _ = Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()
        except (OSError, ValueError):
            continue
        out[tid] = (comm, int(on_cpu) / 1e9, int(waiting) / 1e9)
    return out


def _core_busy(core: str) -> tuple[float, float]:
    """Seconds the core spent running processes (user, nice, system) and handling
    interrupts or stolen by the hypervisor (irq, softirq, steal), from /proc/stat."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{core} "):
            t = [int(x) for x in line.split()[1:9]]
            tick = os.sysconf("SC_CLK_TCK")
            return (t[0] + t[1] + t[2]) / tick, (t[5] + t[6] + t[7]) / tick
    return 0.0, 0.0


def _spy_start(server: Server, out: Path) -> subprocess.Popen[bytes]:
    assert server.proc is not None
    argv = [str(Path(PYTHON).parent / "py-spy"), "record", "-r", "200", "--threads"]
    argv += ["-f", "raw", "-o", str(out), "--pid", str(server.proc.pid)]
    with out.with_suffix(".log").open("wb") as log:
        spy = subprocess.Popen(pinned(CLIENT_CORE, argv), stdout=subprocess.DEVNULL, stderr=log)
    time.sleep(0.5)  # py-spy attaches
    return spy


def _perf_start(server: Server, out: Path) -> subprocess.Popen[bytes] | None:
    """perf's on-CPU samples (cpu-clock) beside py-spy: what runs in C (SQLite, the kernel,
    HMAC, msgspec) and what in the interpreter, per thread. None without perf."""
    if shutil.which("perf") is None:
        return None
    assert server.proc is not None
    argv = ["perf", "record", "-e", "cpu-clock", "-F", "999", "-p", str(server.proc.pid)]
    with out.with_suffix(".log").open("wb") as log:
        return subprocess.Popen(
            pinned(CLIENT_CORE, [*argv, "-o", str(out)]), stdout=log, stderr=log
        )


def _spy_stop(spy: subprocess.Popen[bytes]) -> None:
    spy.send_signal(signal.SIGINT)
    spy.wait(timeout=120)


def _peak(server: Server, run: str, *, unique: bool) -> dict[str, Any]:
    base = _url(server)
    run_wrk(base, _requests(f"w{run}", 20_000), connections=4, seconds=2)
    io0 = _io(server)
    result: dict[str, Any] = run_wrk(
        base, _requests(f"r{run}", REQUESTS), connections=PEAK_CONNECTIONS, seconds=SECONDS
    )
    io1 = _io(server)
    result["io_per_webhook"] = {k: (io1[k] - io0[k]) / max(_ok(result), 1) for k in io0}
    if unique:  # the bare server ignores the ids: a repeat costs it the same
        _check_wrap(result, REQUESTS, server.log_path.name)
    return result


def _wait_quiet(limit: float = 0.15, patience: float = 180.0) -> None:
    """The machine is shared: before a run, wait (up to `patience` s) until both cores
    together are less than `limit` busy over a second, so that no test suite or build of
    someone else runs beside the measurement; say so if it never got quiet. Time spent
    at a positive nice value is not counted: work started with `nice -n 19` yields the
    core to the measured servers (CFS gives it ~1.5 % of a core against them)."""

    def busy() -> tuple[float, float]:
        t = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        return sum(t) - t[1] - t[3] - t[4], sum(t)

    start = time.perf_counter()
    while True:
        b0, t0 = busy()
        time.sleep(1.0)
        b1, t1 = busy()
        share = (b1 - b0) / max(1, t1 - t0)
        if share < limit:
            return
        if time.perf_counter() - start > patience:
            print(
                f"warning: the machine is {100 * share:.0f} % busy before the run", file=sys.stderr
            )
            return


def measure() -> dict[str, list[Any]]:
    WORK.mkdir(parents=True, exist_ok=True)
    gw_db, floor_db = WORK / "e2e-gateway.db", WORK / "e2e-floor.db"
    for db in (gw_db, floor_db):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    out: dict[str, list[Any]] = {k: [] for k in ("bare", "floor", "floor_p99", "gateway")}
    for n in range(RUNS):
        run = str(n)
        _wait_quiet()
        with _bare() as bare:
            out["bare"].append(_peak(bare, run, unique=False))
        with _floor(floor_db) as floor:
            out["floor"].append(_peak(floor, run, unique=True))
        with _gateway(gw_db) as gateway:
            first = run_gateway(gateway, run)
            # The paced run at half of this run's acknowledged peak.
            paced = _paced(_url(gateway), _requests(f"p{run}", 100_000), first["ack_rps"] / 2)
            first["paced_drain_s"], _ = wait_drained(_url(gateway))
            first.update(
                paced_rps=paced["rps"],
                p99=paced["p99_ms"],
                paced_non2xx=paced["non2xx"] + paced["errors"],
            )
        out["gateway"].append(first)
        with _floor(floor_db) as floor:
            out["floor_p99"].append(
                _paced(_url(floor), _requests(f"fp{run}", 100_000), first["ack_rps"] / 2)
            )
        _report_run(n, out)
    if PROFILE:
        _wait_quiet()
        out["profile"] = [profile(gw_db)]
    return out


def profile(db: Path) -> dict[str, Any]:
    """One more run on the same database under py-spy (load and drain), aggregated."""
    from bench import profile_agg

    RESULTS.mkdir(parents=True, exist_ok=True)
    raw = RESULTS / "e2e-profile.raw"
    for old in (raw, RESULTS / "e2e-perf.data"):
        old.unlink(missing_ok=True)
    with _gateway(db) as gateway:
        m = run_gateway(gateway, "prof", spy=raw)
    (RESULTS / "e2e-profile-run.json").write_text(json.dumps(m, indent=1))
    profile_agg.write_reports(raw, m, RESULTS)
    print(
        f"profile run: ack {m['ack_rps']:,.0f} req/s, end to end {m['e2e']:,.0f} msg/s;"
        f" reports in {RESULTS}",
        file=sys.stderr,
    )
    return m


def _kib(m: dict[str, Any], key: str) -> str:
    return f"{m['io_per_webhook'][key] / 1024:.2f}"


def _report_run(n: int, out: dict[str, list[Any]]) -> None:
    g = out["gateway"][n]
    floor_io = out["floor"][n]
    floor = out["floor"][n]["rps"]
    print(
        f"run {n + 1}: bare {out['bare'][n]['rps']:,.0f} req/s, floor {floor:,.0f} req/s;"
        f" gateway on {g['rows_before']:,} inbox rows: ack {g['ack_rps']:,.0f} req/s,"
        f" drain {g['drain_s']:.2f} s after {g['load_s']:.2f} s of load, end to end"
        f" {g['e2e']:,.0f} msg/s ({g['e2e'] / floor:.2f} of the floor), acked {g['acked']:,}"
        f" processed {g['processed']:,}, non-2xx {g['non2xx']:.0f} errors {g['errors']:.0f};"
        f" paced {g['paced_rps']:,.0f} req/s p99 {g['p99']:.1f} ms (floor"
        f" {out['floor_p99'][n]['p99_ms']:.1f} ms), drained {g['paced_drain_s']:.2f} s after;"
        f" server core {100 * g['server_core_use']:.0f} % busy with the gateway,"
        f" {100 * g['others_on_core']:.0f} % with other processes,"
        f" {100 * g['irq_on_core']:.0f} % with interrupts and steal;"
        f" {g['cpu_us_per_webhook']:.0f} us of CPU per webhook; {g['commits_per_webhook']:.3f}"
        f" commits per webhook ({g['writes_per_commit']:.0f} writes each); per webhook"
        f" {_kib(g, 'wchar')} KiB written by calls, {_kib(g, 'write_bytes')} KiB to disk,"
        f" {_kib(g, 'rchar')} KiB read (sockets included); the floor {_kib(floor_io, 'wchar')},"
        f" {_kib(floor_io, 'write_bytes')} and {_kib(floor_io, 'rchar')} KiB",
        file=sys.stderr,
        flush=True,
    )


def rows_of(m: dict[str, list[Any]]) -> list[Row]:
    gw = m["gateway"]
    bare, _ = median_spread([r["rps"] for r in m["bare"]])
    floor, floor_spread = median_spread([r["rps"] for r in m["floor"]])
    ack, ack_spread = median_spread([g["ack_rps"] for g in gw])
    e2e, e2e_spread = median_spread([g["e2e"] for g in gw])
    ratios = [g["e2e"] / f["rps"] for g, f in zip(gw, m["floor"], strict=True)]
    p99, p99_spread = median_spread([g["p99"] for g in gw])
    floor_p99, _ = median_spread([r["p99_ms"] for r in m["floor_p99"]])
    paced, _ = median_spread([g["paced_rps"] for g in gw])
    bad = sum(g["non2xx"] + g["errors"] + g["paced_non2xx"] for g in gw)
    label = "end to end"
    rows = [
        Row(
            label,
            "floor req/s at peak (durable: HMAC, decode, INSERT, FULL)",
            floor,
            "req/s",
            bare,
            "bare aiohttp",
            "",
            None,
            floor_spread,
        ),
        Row(
            label,
            "gateway acknowledged req/s at peak",
            ack,
            "req/s",
            floor,
            "floor",
            "",
            None,
            ack_spread,
        ),
        Row(
            label,
            "gateway end to end msg/s (acked / (load + drain))",
            e2e,
            "msg/s",
            floor,
            "floor",
            ">= 0.5 of floor",
            min(ratios) >= 0.5 if ratios else None,
            e2e_spread + " ratio " + "/".join(f"{r:.2f}" for r in ratios),
        ),
        Row(
            label,
            f"p99 ack at half the ack peak ({paced:,.0f} req/s)",
            p99,
            "ms",
            floor_p99,
            "floor, same pace",
            "< 25 ms",
            p99 < 25,
            p99_spread,
        ),
        Row(
            label,
            "non-2xx and socket errors, all gateway runs",
            bad,
            "",
            None,
            "",
            "0",
            bad == 0,
            "",
        ),
    ]
    for n, (g, f) in enumerate(zip(gw, m["floor"], strict=True)):
        rows.append(
            Row(
                label,
                f"run {n + 1} on one db ({g['rows_before']:,} inbox rows before)",
                g["e2e"],
                "msg/s",
                f["rps"],
                "floor, same run",
                ">= 0.5 of floor",
                g["e2e"] / f["rps"] >= 0.5,
                f"ack {g['ack_rps']:,.0f} req/s, drain {g['drain_s']:.1f} s",
            )
        )
    return rows


def run() -> list[Row]:
    m = measure()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "e2e-runs.json").write_text(json.dumps(m, indent=1))
    return rows_of(m)


if __name__ == "__main__":
    print_table(run())
