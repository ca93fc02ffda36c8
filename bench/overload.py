"""Overload: the gateway under a minute of load above its capacity keeps its memory bounded
and sheds what it cannot take with 503 + Retry-After (the providers retry).

Per provider, once: the gateway (settings as shipped: `[intake] max_unprocessed`,
`[actors] mailbox_size`, `[outbox] max_queued`; synchronous=FULL; scheduled jobs and the
outbound pace off) on the server core, wrk with `BENCH_OVERLOAD_CONNECTIONS` (256)
connections (`webhook.lua`, signed Cloud API webhooks over 20k conversations) on the client
core for `BENCH_OVERLOAD_SECONDS` (60). Each webhook carries `BENCH_OVERLOAD_BATCH` (10)
messages of as many customers, as Meta batches them after an outage, so that intake (one
commit per webhook) can outrun the steps (one commit per message, group-committed).
`BENCH_OVERLOAD_MAX_UNPROCESSED` tries another bound, `BENCH_OVERLOAD_PROVIDERS` fewer
providers. RSS is read from /proc every second, with the unprocessed intake, the mailboxes
and the outbox from `/metrics`. Reported: RSS at the start (after a warm-up), its peak and
at the end of the load, the share of 503s, acknowledgements a second, and the webhooks shed
by reason.

- `console`: replies recorded in memory by the console provider (no network);
- `cloud`: replies sent to the fake Graph server answering each after 200 ms
  (`BENCH_OVERLOAD_GRAPH_MS`): at most `[outbox] concurrency` / 0.2 s a second (160 at
  the 32 of the first measurement, 1,280 at today's 256), below what the gateway takes in,
  so sends pile up; past `[outbox] max_queued` they wait in the outbox table, not in memory.

The request file holds 30k webhooks (300k messages); a longer or faster run sends some
again, as Meta does for the ones that were refused (a repeat of an acknowledged one is a
duplicate, 200, so acknowledged/s is given beside the new messages stored a second).
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import (
    CLIENT_CORE,
    PYTHON,
    REPO,
    WORK,
    Row,
    Server,
    ensure_wrk,
    free_port,
    pinned,
    print_table,
    rss_mb,
    write_settings,
)
from bench.end_to_end import JOBS_OFF, _get, _pace_off, _requests, _url, health, run_wrk
from bench.payloads import write_requests

SECONDS = float(os.environ.get("BENCH_OVERLOAD_SECONDS", "60"))
CONNECTIONS = int(os.environ.get("BENCH_OVERLOAD_CONNECTIONS", "256"))
GRAPH_MS = float(os.environ.get("BENCH_OVERLOAD_GRAPH_MS", "200"))
BATCH = int(os.environ.get("BENCH_OVERLOAD_BATCH", "10"))
# "" keeps the shipped [intake] max_unprocessed; a number puts the bound lower or higher.
BOUND = os.environ.get("BENCH_OVERLOAD_MAX_UNPROCESSED", "")
PROVIDERS = os.environ.get("BENCH_OVERLOAD_PROVIDERS", "console,cloud").split(",")
REQUESTS = 30_000
CONVERSATIONS = 20_000
SAMPLED = {
    "unprocessed": "gateway_intake_unprocessed",
    "mailbox": "gateway_mailbox_depth",
    "actors": "gateway_actors_live",
    "in_flight": "gateway_outbox_in_flight",
    "sent": "gateway_outbox_sent_total",
    "shed_gateway": 'gateway_webhooks_shed_total{reason="gateway"}',
    "shed_conversation": 'gateway_webhooks_shed_total{reason="conversation"}',
    "outbox_pending": 'gateway_outbox_rows{status="pending"}',
}


def metrics(base: str) -> dict[str, float]:
    text = _get(base + "/metrics").decode()
    out = {}
    for key, name in SAMPLED.items():
        found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
        out[key] = float(found.group(1)) if found else 0.0
    return out


def _batches(name: str) -> Path:
    """Signed webhooks of BATCH messages each (of as many customers), cached."""
    path = WORK / f"overload-{name}-{BATCH}.txt"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        write_requests(tmp, REQUESTS, CONVERSATIONS, prefix=name, per_webhook=BATCH)
        tmp.rename(path)
    return path


def _graph(delay_ms: float) -> Server:
    port = free_port()
    argv = [PYTHON, str(REPO / "bench" / "fake_graph_server.py"), "--port", str(port)]
    return Server(
        pinned(CLIENT_CORE, [*argv, "--delay-ms", str(delay_ms)]),
        f"http://127.0.0.1:{port}/healthz",
        log_name="overload-graph.log",
    )


def _gateway(provider: str, graph: str | None) -> Server:
    port = free_port()
    db = WORK / f"overload-{provider}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    extra = JOBS_OFF + _pace_off()
    if BOUND:
        extra += f"\n[intake]\nmax_unprocessed = {int(BOUND)}\n"
    if graph is not None:
        extra = extra.replace(
            "[whatsapp]\n",
            f'[whatsapp]\nprovider = "cloud"\nphone_number_id = "310000000000002"\n'
            f'graph_api_base = "{graph}/v21.0"\n',
        )
    settings = write_settings(WORK / f"overload-{provider}.toml", port=port, db=db, extra=extra)
    text = settings.read_text().replace('synchronous = "NORMAL"', 'synchronous = "FULL"')
    settings.write_text(text)
    return Server(
        [PYTHON, str(REPO / "run.py"), "--settings", str(settings)],
        f"http://127.0.0.1:{port}/healthz",
        env={"WHATSAPP_APP_SECRET": "bench-app-secret", "WHATSAPP_TOKEN": "tok"},
        log_name=f"overload-{provider}.log",
    )


def _sample(server: Server, base: str, stop: threading.Event, out: list[dict[str, float]]) -> None:
    assert server.proc is not None
    start = time.perf_counter()
    while not stop.wait(max(0.0, len(out) + 1 - (time.perf_counter() - start))):
        sample = {"t": time.perf_counter() - start, "rss": rss_mb(server.proc.pid)}
        sample.update(metrics(base))
        out.append(sample)


def run_one(provider: str) -> dict[str, Any]:
    """One minute above capacity against one provider: the samples and wrk's result."""
    graph = _graph(GRAPH_MS) if provider == "cloud" else None
    requests = _batches(f"ov{provider}")
    if graph is not None:
        graph.__enter__()
    try:
        with _gateway(provider, None if graph is None else _url(graph)) as server:
            assert server.proc is not None
            base = _url(server)
            run_wrk(base, _requests(f"ovw{provider}", 5_000), connections=4, seconds=2)
            time.sleep(2)
            start_rss = rss_mb(server.proc.pid)
            stored0 = health(base)["inbox"]["total"]
            samples: list[dict[str, float]] = []
            stop = threading.Event()
            sampler = threading.Thread(target=_sample, args=(server, base, stop, samples))
            sampler.start()
            result = run_wrk(base, requests, connections=CONNECTIONS, seconds=SECONDS)
            stop.set()
            sampler.join()
            end = {"rss": rss_mb(server.proc.pid), **metrics(base)}
            end["stored"] = health(base)["inbox"]["total"] - stored0
            time.sleep(10)
            after = {"rss": rss_mb(server.proc.pid), **metrics(base)}
    finally:
        if graph is not None:
            graph.__exit__(None, None, None)
    return {"start_rss": start_rss, "samples": samples, "wrk": result, "end": end, "after": after}


def _rows(provider: str, m: dict[str, Any]) -> list[Row]:
    wrk, samples, end = m["wrk"], m["samples"], m["end"]
    peak = max([m["start_rss"], *(s["rss"] for s in samples)])
    acked = wrk["requests"] - wrk["non2xx"]
    share = wrk["non2xx"] / max(1.0, wrk["requests"])
    shed = end["shed_gateway"] + end["shed_conversation"]
    most = max((s["unprocessed"] for s in samples), default=0.0)
    stored = end["stored"] / wrk["seconds"]
    label = f"{provider}" + (f", Graph answers in {GRAPH_MS:.0f} ms" if provider == "cloud" else "")
    detail = (
        f"{CONNECTIONS} conn., {wrk['seconds']:.0f} s, bound {BOUND or 'as shipped'};"
        f" shed {shed:.0f} (gateway"
        f" {end['shed_gateway']:.0f}, conversation {end['shed_conversation']:.0f}),"
        f" unprocessed max {most:.0f}, socket errors {wrk['errors']:.0f}"
    )
    after = f"{m['after']['rss']:.1f} MiB 10 s later"
    outbox = (
        f"{stored:,.0f} new messages stored/s ({BATCH} a webhook); outbox pending at the end"
        f" {end['outbox_pending']:.0f}, sent {end['sent']:.0f}"
    )
    return [
        Row("overload", f"{label}: RSS at start", m["start_rss"], "MiB"),
        Row(
            "overload",
            f"{label}: RSS peak during the load",
            peak,
            "MiB",
            m["start_rss"],
            "start",
            spread=f"{len(samples)} samples, 1/s",
        ),
        Row(
            "overload",
            f"{label}: RSS at the end of the load",
            end["rss"],
            "MiB",
            m["start_rss"],
            "start",
            spread=after,
        ),
        Row("overload", f"{label}: 503 share", 100 * share, "%", spread=detail),
        Row("overload", f"{label}: acknowledged/s", acked / wrk["seconds"], "req/s", spread=outbox),
    ]


def run() -> list[Row]:
    WORK.mkdir(parents=True, exist_ok=True)
    ensure_wrk()
    rows: list[Row] = []
    for provider in PROVIDERS:
        print(f"overload: {provider}...", file=sys.stderr, flush=True)
        measured = run_one(provider)
        _print_samples(provider, measured["samples"])
        rows.extend(_rows(provider, measured))
    return rows


def _print_samples(provider: str, samples: list[dict[str, float]]) -> None:
    """Every tenth sample, so that the shape of the minute shows."""
    for s in samples[::10]:
        print(
            f"  {provider} t={s['t']:4.0f}s rss={s['rss']:6.1f} MiB unprocessed="
            f"{s['unprocessed']:6.0f} mailbox={s['mailbox']:6.0f} actors={s['actors']:6.0f}"
            f" shed={s['shed_gateway'] + s['shed_conversation']:7.0f}"
            f" outbox_pending={s['outbox_pending']:7.0f}",
            file=sys.stderr,
        )


if __name__ == "__main__":
    print_table(run())
