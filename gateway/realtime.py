"""`GET /api/agent/ws`: the real-time feed of dashboards. Each socket gets the events its
operator may see: agents their own sessions, the waiting ones and the queue; supervisors
everything. A socket that cannot keep up is closed (the dashboard reconnects and reloads)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog
from aiohttp import WSCloseCode, WSMsgType, web

from gateway.auth import Principal, at_least, principal_of, requires
from gateway.context import gateway_of

log = structlog.get_logger("realtime")
QUEUE_LIMIT = 1000
SESSION_EVENTS = ("session.created", "session.updated")


def visible(principal: Principal, event_type: str, data: dict[str, Any]) -> bool:
    if at_least(principal, "supervisor"):
        return True
    if event_type == "queue.changed":
        return True
    if event_type in SESSION_EVENTS:
        return data.get("chat_state") == "waiting_assignment" or principal.id in (
            data.get("agent_id"),
            data.get("last_operator_id"),
        )
    if event_type == "message.created":
        return bool(data.get("session_id")) and (
            data.get("chat_state") == "waiting_assignment"
            or principal.id in (data.get("agent_id"), data.get("last_operator_id"))
        )
    return False


class Feed:
    """The open dashboard sockets, closed on shutdown."""

    def __init__(self) -> None:
        self.sockets: set[web.WebSocketResponse] = set()

    async def close_all(self, _app: web.Application) -> None:
        for ws in list(self.sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


FEED = web.AppKey("feed", Feed)


@requires("agent")
async def socket(request: web.Request) -> web.WebSocketResponse:
    runtime = gateway_of(request).runtime
    principal = principal_of(request)
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_LIMIT)

    def listener(event_type: str, data: dict[str, Any]) -> None:
        if not visible(principal, event_type, data):
            return
        try:
            queue.put_nowait({"type": event_type, "data": data})
        except asyncio.QueueFull:
            log.warning("feed_overflow", operator=principal.id)
            with contextlib.suppress(asyncio.QueueFull):
                queue.get_nowait()
                queue.put_nowait(None)  # tell the pump to close this socket

    unsubscribe = runtime.events.subscribe(listener)
    feed = request.app[FEED]
    feed.sockets.add(ws)
    pump = asyncio.get_running_loop().create_task(_pump(ws, queue))
    try:
        await ws.send_json(
            {"type": "hello", "data": {"operator_id": principal.id, "role": principal.role}}
        )
        async for message in ws:
            if message.type == WSMsgType.TEXT and message.data == "ping":
                await ws.send_json({"type": "pong", "data": {}})
    finally:
        unsubscribe()
        feed.sockets.discard(ws)
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
    return ws


async def _pump(ws: web.WebSocketResponse, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
    while True:
        event = await queue.get()
        if event is None:
            await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too slow; reconnect")
            return
        try:
            await ws.send_json(event)
        except ConnectionResetError:
            return


def add_routes(app: web.Application) -> None:
    app[FEED] = Feed()
    app.on_shutdown.append(app[FEED].close_all)
    app.router.add_get("/api/agent/ws", socket)
