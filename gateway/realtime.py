"""`GET /api/agent/ws`: the real-time feed of dashboards.

Each frame is `{seq, type, data}`; `seq` increases gateway-wide, across restarts too. A
socket gets the events its operator may see (`access.may_receive`). A client that reconnects
with `?since=<seq>` first gets the events it missed, then live ones; when those are no
longer kept, one `resync` frame tells it to reload. A socket that cannot keep up is closed
(the dashboard reconnects with `since`). So is one whose operator an admin deactivated, gave
a new token or another role: nothing more reaches it, and its reconnect is authenticated
again (refused with 401, or filtered by the new role).
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from aiohttp import WSCloseCode, WSMsgType, web

from actors.conversation.events import Event
from gateway.access import may_receive
from gateway.auth import Principal, principal_of, requires
from gateway.context import GATEWAY, gateway_of
from gateway.errors import ApiError
from gateway.jsonio import dumps

log = structlog.get_logger("realtime")
QUEUE_LIMIT = 1000
Frame = tuple[int, Event]
TOO_SLOW, REVOKED = "too_slow", "revoked"  # what tells a socket's pump to close it
Item = Frame | str


class Socket:
    """One open dashboard socket: whose it is, and the frames waiting to go out."""

    def __init__(self, ws: web.WebSocketResponse, principal: Principal) -> None:
        self.ws = ws
        self.principal = principal
        self.queue: asyncio.Queue[Item] = asyncio.Queue(QUEUE_LIMIT)
        self.closing = False

    def put(self, seq: int, event: Event) -> None:
        if self.closing or not may_receive(self.principal, event):
            return
        try:
            self.queue.put_nowait((seq, event))
        except asyncio.QueueFull:
            log.warning("feed_overflow", operator=self.principal.id)
            self.close(TOO_SLOW)

    def close(self, why: str) -> None:
        """The pump closes the socket after what is queued before this (nothing after)."""
        if self.closing:
            return
        self.closing = True
        with contextlib.suppress(asyncio.QueueEmpty):
            if self.queue.full():
                self.queue.get_nowait()
        self.queue.put_nowait(why)


class Feed:
    """The open dashboard sockets: closed on shutdown, and an operator's when its access
    ends or changes."""

    def __init__(self) -> None:
        self.sockets: dict[web.WebSocketResponse, Socket] = {}

    def revoke(self, operator_id: str) -> None:
        for socket in list(self.sockets.values()):
            if socket.principal.id == operator_id:
                log.info("feed_revoked", operator=operator_id)
                socket.close(REVOKED)

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
    sock = Socket(ws, principal)
    # Subscribing and reading what was missed happen in one step: no event falls between.
    unsubscribe = events.subscribe(sock.put)
    missed = [] if since is None else events.since(since)
    at = events.last_seq
    feed = request.app[FEED]
    feed.sockets[ws] = sock
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
                if may_receive(principal, event) and not sock.closing:
                    await ws.send_str(dumps(_frame(seq, event)))
        pump = asyncio.get_running_loop().create_task(_pump(sock))
        async for message in ws:
            if message.type == WSMsgType.TEXT and message.data == "ping" and not sock.closing:
                await ws.send_str(dumps({"seq": events.last_seq, "type": "pong", "data": {}}))
    finally:
        unsubscribe()
        feed.sockets.pop(ws, None)
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
    return ws


CLOSES = {
    TOO_SLOW: (WSCloseCode.TRY_AGAIN_LATER, b"too slow; reconnect"),
    REVOKED: (WSCloseCode.POLICY_VIOLATION, b"access changed; sign in again"),
}


async def _pump(sock: Socket) -> None:
    while True:
        item = await sock.queue.get()
        if isinstance(item, str):
            code, message = CLOSES[item]
            await sock.ws.close(code=code, message=message)
            return
        try:
            await sock.ws.send_str(dumps(_frame(*item)))
        except ConnectionResetError:
            return


def add_routes(app: web.Application) -> None:
    app[FEED] = Feed()
    app[GATEWAY].auth.on_revoke(app[FEED].revoke)
    app.on_shutdown.append(app[FEED].close_all)
    app.router.add_get("/api/agent/ws", socket)
