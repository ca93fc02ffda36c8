"""A fake Graph API for benchmarks: accepts every send with a success body, after
`--delay-ms` (a real Graph answer takes 100-300 ms). `GET /stats` tells how many sends
arrived, in which second (since the first), and the most in flight at once."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time

from aiohttp import web

_ids = itertools.count(1)
_arrivals: list[float] = []
_in_flight = [0, 0]  # now, most


async def messages(request: web.Request) -> web.Response:
    _arrivals.append(time.time())
    _in_flight[0] += 1
    _in_flight[1] = max(_in_flight)
    try:
        sent = json.loads(await request.read())
        delay = request.app["delay"]
        if delay:
            await asyncio.sleep(delay)
    finally:
        _in_flight[0] -= 1
    to = str(sent.get("to", ""))
    body = {
        "messaging_product": "whatsapp",
        "contacts": [
            {"input": to, "wa_id": to.lstrip("+")}
            if to.lstrip("+").isdigit()
            else {"input": to, "user_id": to}
        ],
        "messages": [{"id": f"wamid.B{next(_ids)}"}],
    }
    return web.Response(text=json.dumps(body), content_type="application/json")


async def stats(_request: web.Request) -> web.Response:
    """Arrival times (Unix seconds) of every send, and the most in flight at once."""
    body = {"sent": len(_arrivals), "arrivals": _arrivals, "most_in_flight": _in_flight[1]}
    return web.Response(text=json.dumps(body), content_type="application/json")


async def healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    app = web.Application()
    app["delay"] = args.delay_ms / 1000
    app.router.add_post("/{version}/{phone}/messages", messages)
    app.router.add_get("/stats", stats)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None, backlog=1024)


if __name__ == "__main__":
    main()
