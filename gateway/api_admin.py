"""Operations: the clock endpoints, `/healthz`, `/metrics`."""

from __future__ import annotations

import msgspec
from aiohttp import web

from actors.runtime.clock import VirtualClock
from gateway.auth import requires
from gateway.context import GATEWAY, gateway_of
from gateway.errors import ApiError
from gateway.jsonio import json_response, read_json
from gateway.maintenance_metrics import MaintenanceSource
from gateway.metrics import METRICS, GatewayMetrics, RuntimeSource

MAX_ADVANCE_SECONDS = 400 * 24 * 3600


class AdvanceBody(msgspec.Struct, forbid_unknown_fields=True):
    seconds: float


@requires("agent")
async def get_clock(request: web.Request) -> web.Response:
    clock = gateway_of(request).runtime.clock
    return json_response({"mode": clock.mode, "now": clock.now()})


@requires("admin")
async def advance_clock(request: web.Request) -> web.Response:
    runtime = gateway_of(request).runtime
    if not isinstance(runtime.clock, VirtualClock):
        raise ApiError(404, "not_found", 'the clock is not virtual ([clock] mode = "system")')
    body = await read_json(request, AdvanceBody)
    if not 0 <= body.seconds <= MAX_ADVANCE_SECONDS:
        raise ApiError(
            400, "invalid_body", f"seconds must be between 0 and {MAX_ADVANCE_SECONDS}", "seconds"
        )
    now = await runtime.advance_virtual(body.seconds)
    return json_response({"mode": "virtual", "now": now})


async def healthz(request: web.Request) -> web.Response:
    gw = gateway_of(request)
    runtime = gw.runtime
    store = runtime.store
    ok = gw.accepting and store.running and runtime.timers.running
    body = {
        "status": "ok" if ok else "unavailable",
        "writer": "running" if store.running else "stopped",
        "timers": "running" if runtime.timers.running else "stopped",
        "clock": runtime.clock.mode,
        "now": runtime.clock.now(),
        "actors": len(runtime.registry),
        "pending_timers": len(runtime.timers),
        "writer_backlog": store.backlog,
        "inbox": await store.inbox_counts(),
        "parked_conversations": runtime.backlog.parked,
        "intake": {
            "unprocessed": runtime.admission.unprocessed,
            "max_unprocessed": runtime.admission.max_unprocessed,
            "shedding": runtime.admission.shedding,
            "shed": dict(runtime.admission.shed),
        },
        "outbox_in_flight": runtime.sender.in_flight,
        "provider": runtime.provider.name,
        "warnings": gw.warnings,
        "alerts": [
            {"alert": name, "message": message}
            for name, message in sorted(runtime.maintenance_stats.alerts.items())
        ],
    }
    return json_response(body, status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    return await request.app[METRICS].response()


def add_routes(app: web.Application) -> None:
    runtime = app[GATEWAY].runtime
    app[METRICS] = GatewayMetrics(
        [
            RuntimeSource(runtime),
            MaintenanceSource(runtime.maintenance_stats, lambda: runtime.clock.now()),
        ]
    )
    app.router.add_get("/api/admin/clock", get_clock)
    app.router.add_post("/api/admin/clock/advance", advance_clock)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
