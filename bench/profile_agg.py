"""Aggregates a py-spy `--threads -f raw` profile of the gateway into microseconds per
webhook, per thread: by category (where a webhook's time goes), by function (self time,
the leaf frame) and by function inclusive.

Samples only say where a thread was while it ran; the thread's CPU time over the same
window (/proc/PID/task/TID/stat) says how much it ran. So a function's cost per webhook is
`thread CPU seconds * its share of the thread's samples / webhooks acknowledged` (all
processed within the window). On one core a runnable thread waiting for the CPU is also
sampled; normalising by each thread's own CPU time keeps the totals honest.

    python -m bench.profile_agg bench/results/e2e-profile.raw bench/results/e2e-profile-run.json
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
PERF_HZ = 999.0
THREAD = re.compile(r"^thread \((?P<tid>\d+)\): (?P<name>.*)$")

# Anywhere in the stack, first match wins: costs that are one thing wherever they are called.
ANYWHERE = (
    (
        "healthz + /metrics (the bench's drain polling)",
        ("gateway/api_admin.py", "gateway/metrics.py", "prometheus_client/"),
    ),
    ("console provider (hand the reply over)", ("gateway/providers/console.py",)),
    ("logging (structlog, logging)", ("structlog/", "logging/", "gateway/logs.py")),
    ("signature (HMAC-SHA256)", ("gateway/signature.py", "hmac.py")),
    ("decode (cloud_events, msgspec)", ("gateway/cloud_events.py", "gateway/cloud_payload.py")),
)
# The innermost frame of one of these modules names the cost; asyncio and the rest of the
# standard library are transparent (their time goes to whoever called them).
INNERMOST = (
    ("intake accept (identity, inbox rows, backlog)", ("actors/intake/",)),
    ("commit build (step_commit: snapshot, rows)", ("actors/conversation/step_commit.py",)),
    ("actor step (conversation, flows)", ("actors/conversation/", "actors/flows/")),
    ("outbox sender", ("actors/outbox/",)),
    (
        "actor runtime (mailbox, registry, timers)",
        ("actors/runtime/", "actors/system.py", "actors/desk/"),
    ),
    ("writer queue (event-loop side)", ("storage/sqlite/writer.py",)),
    ("store API (event-loop side)", ("storage/",)),
    ("aiohttp HTTP (parse, protocol, response)", ("aiohttp/", "multidict/", "yarl/")),
    ("webhook handler, middlewares, json", ("gateway/",)),
    ("aiosqlite (reads)", ("aiosqlite/",)),
    ("SQL on the write connection", ("sqlite3/",)),
)
LOOP = ("asyncio loop (selectors, callbacks, futures)", ("asyncio/", "selectors.py"))
# The writer thread: its statements, named by the module that runs them.
WRITER = (
    ("ISO time formatting (timefmt)", ("storage/sqlite/timefmt.py",)),
    ("messages insert", ("storage/sqlite/messages.py",)),
    ("journal insert", ("storage/sqlite/journal.py",)),
    ("outbox rows (insert, mark sent)", ("storage/sqlite/outbox.py",)),
    ("pauses projection", ("storage/sqlite/pauses.py",)),
    ("sessions", ("storage/sqlite/sessions.py",)),
    ("aliases", ("storage/sqlite/aliases.py",)),
    ("inbox insert + mark processed", ("storage/sqlite/inbox.py",)),
    ("commit_step (snapshot upsert, its own SQL)", ("storage/sqlite/conversations.py",)),
    ("other store writes (store.py closures)", ("storage/sqlite/store.py",)),
)


def parse(raw: Path) -> dict[tuple[str, str], list[tuple[list[str], int]]]:
    """{(tid, thread name): [(frames root first, samples)]}"""
    threads: dict[tuple[str, str], list[tuple[list[str], int]]] = defaultdict(list)
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        head = THREAD.match(frames[0])
        key = (head["tid"], head["name"]) if head else ("?", "?")
        threads[key].append((frames[1:] if head else frames, int(count)))
    return threads


def _file(frame: str) -> tuple[str, str, str]:
    found = FRAME.match(frame)
    if not found:
        return frame, "", ""
    return found["func"], found["file"] or "", found["line"] or ""


def _matches(path: str, needles: tuple[str, ...]) -> bool:
    return any(n in path for n in needles)


def category(frames: list[str], writer: bool) -> str:
    files = [_file(f) for f in frames]
    if writer:
        for func, path, line in reversed(files):
            for name, needles in WRITER:
                if _matches(path, needles):
                    return name
            if path.endswith("storage/sqlite/writer.py"):
                return f"writer: {func} line {line} ({_source(path, line)})"
        return "thread pool plumbing"
    for name, needles in ANYWHERE:
        if any(_matches(path, needles) for _, path, _ in files):
            return name
    for _, path, _ in reversed(files):
        for name, needles in INNERMOST:
            if _matches(path, needles):
                return name
    if any(_matches(path, LOOP[1]) for _, path, _ in files):
        return LOOP[0]
    return "other"


def _source(path: str, line: str) -> str:
    from bench.common import REPO

    try:
        return (REPO / path).read_text().splitlines()[int(line) - 1].strip()[:60]
    except (OSError, ValueError, IndexError):
        return "?"


def _key(frame: str) -> str:
    func, path, _ = _file(frame)
    return f"{func} ({path})"


# Leaf frames where a thread waits. py-spy samples a thread whenever the OS does not show
# it asleep, so a thread in fsync (disk wait), or just woken in epoll or a queue and waiting
# for the core, is sampled there although it is not running; so is the writer thread right
# after it wakes the loop (`_write_to_self`), as the loop then takes the core from it.
# Pure waits first, then the COMMIT (its WAL write is CPU, its fsync is waiting).
PURE_WAITS = (
    "select (selectors.py",
    "_write_to_self (asyncio/selector_events.py",
    "_worker (concurrent/futures/thread.py",
    "_connection_worker_thread (aiosqlite/core.py",
    "wait (threading.py",
    "sleep (",
)


def _is_commit(frame: str) -> bool:
    _func, path, line = _file(frame)
    return path.endswith("storage/sqlite/writer.py") and '"COMMIT"' in _source(path, line)


def _weights(stacks: list[tuple[list[str], int]], non_cpu: float) -> list[float]:
    """Each stack's samples less its part of the `non_cpu` samples, taken from the pure
    waits, then from COMMIT; whatever is left over comes off every stack alike (by the
    normalisation to the thread's CPU time)."""
    weights = [float(c) for _, c in stacks]
    for test in (
        lambda leaf: any(w in leaf for w in PURE_WAITS),
        _is_commit,
    ):
        spots = [i for i, (frames, _) in enumerate(stacks) if frames and test(frames[-1])]
        there = sum(weights[i] for i in spots)
        if there <= 0 or non_cpu <= 0:
            continue
        take = min(non_cpu, there)
        for i in spots:
            weights[i] -= take * weights[i] / there
        non_cpu -= take
    return weights


def aggregate(raw: Path, run: dict[str, Any]) -> dict[str, Any]:
    webhooks = run["acked"]
    threads = run["threads"]
    spy = run.get("spy") or {}
    rate = spy["samples"] / spy["seconds"] if spy.get("samples") else 200.0
    report: dict[str, Any] = {"webhooks": webhooks, "rate": rate, "threads": []}
    parsed = sorted(parse(raw).items(), key=lambda kv: -sum(c for _, c in kv[1]))
    for (tid, name), stacks in parsed:
        total = sum(c for _, c in stacks)
        info = threads.get(tid, {"cpu_s": 0.0, "runqueue_s": 0.0})
        seconds, runqueue = info["cpu_s"], info["runqueue_s"]
        us = seconds * 1e6 / webhooks if webhooks else 0.0
        non_cpu = max(0.0, total - seconds * rate)
        weights = _weights(stacks, non_cpu)
        kept = sum(weights) or 1.0
        writer = name.startswith("sqlite-writer")
        cats: Counter[str] = Counter()
        self_: Counter[str] = Counter()
        incl: Counter[str] = Counter()
        lines: Counter[str] = Counter()
        for (frames, _), w in zip(stacks, weights, strict=True):
            cats[category(frames, writer)] += w
            if frames:
                self_[_key(frames[-1])] += w
                lines[frames[-1]] += w
            for k in {_key(f) for f in frames}:
                incl[k] += w

        def per(c: Counter[str], n: int = 30, kept: float = kept, us: float = us) -> list[Any]:
            return [
                (k, round(us * v / kept, 2), round(100 * v / kept, 1)) for k, v in c.most_common(n)
            ]

        report["threads"].append(
            {
                "tid": tid,
                "name": name,
                "samples": total,
                "cpu_s": seconds,
                "runqueue_s": runqueue,
                "waiting_samples": round(non_cpu),
                "us_per_webhook": round(us, 1),
                "runqueue_us_per_webhook": round(runqueue * 1e6 / webhooks, 1),
                "categories": per(cats, 40),
                "self": per(self_),
                "inclusive": per(incl),
                "self_lines": per(lines, 20),
            }
        )
    return report


PERF_LINE = re.compile(r"^\s*([\d.]+)%\s+(\d+)\s+(\d+):\S*\s+(.*?)\s*$")


# perf's symbols grouped into what they do (first match wins; `dso|symbol` regex).
PERF_GROUPS = (
    (
        "cyclic GC (collections)",
        r"libpython.*\|(gc_collect|visit_decref|visit_reachable|move_unre"
        r"achable|deduce_unreachable|\w+_traverse|subtract_refs|update_refs)",
    ),
    ("interpreter (bytecode)", r"libpython.*\|_PyEval_EvalFrameDefault"),
    (
        "malloc and free",
        r"\|(_PyObject_Malloc|_PyObject_Free|malloc|_int_free|_int_malloc|free|cfree"
        r"|PyObject_GC_\w+|_PyObject_GC_\w+|pymalloc\w*)$",
    ),
    ("rest of libpython (objects, calls, dicts)", r"libpython"),
    ("SQLite (libsqlite3, _sqlite3)", r"sqlite3"),
    (
        "kernel: writes to files (page cache)",
        r"kernel.*\|(copy_folio_from_iter_atomic|mark_buffer_dir"
        r"ty|ext4_\w+|__block_commit_write|block_\w+|filemap_add\w*|folio_\w+|clear_page_erms|__filemap"
        r"_get_folio|balance_dirty\w*|generic_perform_write|generic_write_end|jbd2\w*)",
    ),
    (
        "kernel: reads from files",
        r"kernel.*\|(_copy_to_iter|filemap_read|filemap_get_read_batch|"
        r"filemap_get_entry|xas_load|touch_atime)",
    ),
    (
        "kernel: network, epoll",
        r"kernel.*\|(tcp_\w+|__tcp\w+|ip_\w+|__dev_\w+|sock_\w+|skb_\w+|"
        r"__skb\w+|ep_\w+|do_epoll\w*|__x64_sys_epoll\w*|net_\w+|__netif\w+|loopback\w*|unix_\w+)",
    ),
    ("kernel: other (syscalls, scheduler, fsync, virtio)", r"kernel"),
    ("libc (memcpy, locks, ...)", r"libc\.so"),
    ("msgspec", r"_core\.cpython"),
    (
        "aiohttp C (parser, multidict, helpers)",
        r"_http_parser|_multidict|_helpers_c|_http_writer|yarl",
    ),
    ("HMAC (libcrypto)", r"libcrypto"),
)


def perf_report(data: Path, webhooks: int, hz: float) -> str:
    """`perf record -e cpu-clock` (on-CPU samples only): per thread, by shared object and
    by symbol, in us per webhook."""
    out = []
    groups = _perf_groups(data)
    out.append(
        f"== perf, by what the code does (us of CPU per webhook; {hz:.0f} Hz on-CPU samples)"
    )
    for tid, counts in sorted(groups.items(), key=lambda kv: -sum(kv[1].values())):
        total = sum(counts.values())
        out.append(f"-- thread {tid}: {total * 1e6 / hz / webhooks:.1f} us per webhook")
        for what, n in counts.most_common():
            out.append(f"{n * 1e6 / hz / webhooks:9.2f} {100 * n / total:5.1f} %  {what}")
    out.append("")
    for keys in ("pid,dso", "pid,dso,sym"):
        done = subprocess.run(
            ["perf", "report", "-i", str(data), "-n", "--sort", keys, "--stdio"],
            capture_output=True,
            text=True,
            check=False,
        )
        rows: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for line in done.stdout.splitlines():
            found = PERF_LINE.match(line)
            if found:
                rows[found[3]].append((int(found[2]), " ".join(found[4].split())))
        out.append(f"== perf, by {keys} (us of CPU per webhook; on-CPU samples at {hz:.0f} Hz)")
        for tid, items in sorted(rows.items(), key=lambda kv: -sum(n for n, _ in kv[1])):
            total = sum(n for n, _ in items)
            out.append(f"-- thread {tid}: {total * 1e6 / hz / webhooks:.1f} us per webhook")
            for n, what in sorted(items, reverse=True)[: 25 if "sym" in keys else 12]:
                out.append(f"{n * 1e6 / hz / webhooks:9.2f} {100 * n / total:5.1f} %  {what}")
        out.append("")
    return "\n".join(out)


def _perf_groups(data: Path) -> dict[str, Counter[str]]:
    done = subprocess.run(
        ["perf", "report", "-i", str(data), "-n", "--sort", "pid,dso,sym", "--stdio"],
        capture_output=True,
        text=True,
        check=False,
    )
    groups: dict[str, Counter[str]] = defaultdict(Counter)
    patterns = [(name, re.compile(rx)) for name, rx in PERF_GROUPS]
    for line in done.stdout.splitlines():
        found = PERF_LINE.match(line)
        if not found:
            continue
        parts = found[4].split()
        dso, sym = parts[0], " ".join(parts[2:]) if len(parts) > 2 else ""
        key = f"{dso}|{sym}"
        name = next((n for n, rx in patterns if rx.search(key)), "other")
        groups[found[3]][name] += int(found[2])
    return groups


def render(report: dict[str, Any], run: dict[str, Any]) -> str:
    out = [
        f"gateway under load: {run['acked']:,} webhooks acknowledged in {run['load_s']:.2f} s"
        f" ({run['ack_rps']:,.0f} req/s), drained {run['drain_s']:.2f} s later; end to end"
        f" {run['e2e']:,.0f} msg/s. CPU per webhook, all threads:"
        f" {sum(t['us_per_webhook'] for t in report['threads']):,.0f} us; py-spy sampled"
        f" {report['rate']:.0f} times a second.",
        "Each thread's samples are scaled to its CPU time (schedstat); the samples above it"
        " (the thread waiting: fsync, or woken and waiting for the core) are taken off its"
        " wait spots first (epoll, queue gets, then COMMIT).",
        "",
    ]
    for t in report["threads"]:
        out.append(
            f"== thread {t['name']} (tid {t['tid']}): {t['cpu_s']:.2f} s CPU,"
            f" {t['us_per_webhook']:.1f} us per webhook; runnable but waiting for the core"
            f" {t['runqueue_us_per_webhook']:.1f} us per webhook; {t['samples']} samples, of"
            f" which {t['waiting_samples']} taken as waiting"
        )
        for title, rows in (
            ("by category", t["categories"]),
            ("self, by function", t["self"]),
            ("inclusive, by function", t["inclusive"]),
            ("self, by line", t["self_lines"]),
        ):
            out.append(f"-- {title} (us of CPU per webhook, % of the thread's CPU)")
            out.extend(f"{us:9.2f} {pct:5.1f} %  {k}" for k, us, pct in rows)
        out.append("")
    return "\n".join(out)


def write_reports(raw: Path, run: dict[str, Any], results: Path) -> Path:
    report = aggregate(raw, run)
    (results / "e2e-profile.json").write_text(json.dumps(report, indent=1))
    text = results / "e2e-profile.txt"
    body = render(report, run)
    perf = raw.with_name("e2e-perf.data")
    if perf.exists():
        body += "\n" + perf_report(perf, run["acked"], run.get("perf_hz", PERF_HZ))
    text.write_text(body)
    return text


if __name__ == "__main__":
    raw_path, run_path = Path(sys.argv[1]), Path(sys.argv[2])
    run_data = json.loads(run_path.read_text())
    print(write_reports(raw_path, run_data, raw_path.parent).read_text())
