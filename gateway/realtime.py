"""`GET /api/agent/ws`: the real-time feed of dashboards.

Each frame is `{seq, type, data}`; `seq` increases gateway-wide, across restarts too. A
socket gets the events its operator may see (`access.may_receive`). A client that reconnects
with `?since=<seq>` first gets the events it missed, then live ones; when those are no
longer kept, one `resync` frame tells it to reload. A socket that cannot keep up is closed
(the dashboard reconnects with `since`).
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from aiohttp import WSCloseCode, WSMsgType, web

from actors.conversation.events import Event
from gateway.access import may_receive
from gateway.auth import principal_of, requires
from gateway.context import gateway_of
from gateway.errors import ApiError
from gateway.jsonio import dumps

log = structlog.get_logger("realtime")
QUEUE_LIMIT = 1000
Frame = tuple[int, Event]


class Feed:
    """The open dashboard sockets, closed on shutdown."""

    def __init__(self) -> None:
        self.sockets: set[web.WebSocketResponse] = set()

    async def close_all(self, _app: web.Application) -> None:
        for ws in list(self.sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


FEED = web.AppKey("feed", Feed)


def _since(request: web.Request) -> int | None:
    text = request.query.get("since")
    if text is None or text == "":
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        raise ApiError(400, "invalid_query", "since is a seq, an integer", "since")
    return int(text)


def _frame(seq: int, event: Event) -> dict[str, object]:
    return {"seq": seq, "type": event.type, "data": event.data}


@requires("agent")
async def socket(request: web.Request) -> web.StreamResponse:
    events = gateway_of(request).runtime.events
    principal = principal_of(request)
    since = _since(request)
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    queue: asyncio.Queue[Frame | None] = asyncio.Queue(QUEUE_LIMIT)

    def listener(seq: int, event: Event) -> None:
        if not may_receive(principal, event):
            return
        try:
            queue.put_nowait((seq, event))
        except asyncio.QueueFull:
            log.warning("feed_overflow", operator=principal.id)
            with contextlib.suppress(asyncio.QueueFull):
                queue.get_nowait()
                queue.put_nowait(None)  # tell the pump to close this socket

    # Subscribing and reading what was missed happen in one step: no event falls between.
    unsubscribe = events.subscribe(listener)
    missed = [] if since is None else events.since(since)
    at = events.last_seq
    feed = request.app[FEED]
    feed.sockets.add(ws)
    pump: asyncio.Task[None] | None = None
    try:
        await ws.send_str(
            dumps(
                {
                    "seq": at,
                    "type": "hello",
                    "data": {"operator_id": principal.id, "role": principal.role},
                }
            )
        )
        if missed is None:
            await ws.send_str(dumps({"seq": at, "type": "resync", "data": {}}))
        else:
            for seq, event in missed:
                if may_receive(principal, event):
                    await ws.send_str(dumps(_frame(seq, event)))
        pump = asyncio.get_running_loop().create_task(_pump(ws, queue))
        async for message in ws:
            if message.type == WSMsgType.TEXT and message.data == "ping":
                await ws.send_str(dumps({"seq": events.last_seq, "type": "pong", "data": {}}))
    finally:
        unsubscribe()
        feed.sockets.discard(ws)
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
    return ws


async def _pump(ws: web.WebSocketResponse, queue: asyncio.Queue[Frame | None]) -> None:
    while True:
        item = await queue.get()
        if item is None:
            await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too slow; reconnect")
            return
        try:
            await ws.send_str(dumps(_frame(*item)))
        except ConnectionResetError:
            return


def add_routes(app: web.Application) -> None:
    app[FEED] = Feed()
    app.on_shutdown.append(app[FEED].close_all)
    app.router.add_get("/api/agent/ws", socket)
