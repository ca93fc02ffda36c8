"""`/metrics` in the Prometheus text format: queues, actors, timers, writer, outbox."""

from __future__ import annotations

import msgspec

from actors.system import Runtime


async def render_metrics(runtime: Runtime) -> str:
    writer = runtime.store.stats
    backlog = msgspec.structs.asdict(await runtime.store.outbox_counts())
    gauges: list[tuple[str, str, float, str]] = [
        ("gateway_actors_live", "gauge", len(runtime.registry), "conversation actors in memory"),
        ("gateway_actors_busy", "gauge", runtime.registry.busy, "actors with mail"),
        ("gateway_mailbox_depth", "gauge", runtime.registry.mailbox_depth(), "queued mail"),
        ("gateway_actors_spawned_total", "counter", runtime.registry.spawned, "actors started"),
        (
            "gateway_actors_passivated_total",
            "counter",
            runtime.registry.passivated,
            "idle actors dropped from memory",
        ),
        ("gateway_timers_pending", "gauge", len(runtime.timers), "deadlines in the heap"),
        ("gateway_timers_fired_total", "counter", runtime.timers.fired, "deadlines fired"),
        ("gateway_writer_backlog", "gauge", runtime.store.backlog, "writes waiting to commit"),
        ("gateway_writer_batches_total", "counter", writer.batches, "group commits"),
        ("gateway_writer_writes_total", "counter", writer.writes, "writes committed"),
        ("gateway_writer_largest_batch", "gauge", writer.largest_batch, "largest group commit"),
        ("gateway_outbox_in_flight", "gauge", runtime.sender.in_flight, "sends in flight"),
        ("gateway_outbox_sent_total", "counter", runtime.sender.sent, "sends accepted"),
        ("gateway_outbox_failed_total", "counter", runtime.sender.failed, "sends given up"),
        ("gateway_outbox_retried_total", "counter", runtime.sender.retried, "sends retried"),
        ("gateway_events_published_total", "counter", runtime.events.published, "dashboard events"),
        ("gateway_sessions_open", "gauge", len(runtime.desk.index), "open agent sessions"),
        (
            "gateway_sessions_waiting",
            "gauge",
            len(runtime.desk.index.waiting()),
            "sessions waiting for an operator",
        ),
        (
            "gateway_conversations_parked",
            "gauge",
            runtime.backlog.parked,
            "conversations whose later events wait in the inbox",
        ),
        (
            "gateway_timer_lateness_max_seconds",
            "gauge",
            max(runtime.timers.lateness, default=0.0),
            "the latest of the recent deadlines' firing delays",
        ),
    ]

    lines = []
    for name, kind, value, help_text in gauges:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value}"]
    lines += [
        "# HELP gateway_outbox_rows outbox rows by status",
        "# TYPE gateway_outbox_rows gauge",
    ]
    for status in ("pending", "sent", "failed"):
        lines.append(f'gateway_outbox_rows{{status="{status}"}} {backlog.get(status, 0)}')
    return "\n".join(lines) + "\n"
