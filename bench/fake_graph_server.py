"""A fake Graph API for benchmarks: accepts every send with a success body, at once or
after `--delay-ms` (a slow Graph API, for the overload bench)."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json

from aiohttp import web

_ids = itertools.count(1)
DELAY = web.AppKey("delay_seconds", float)


async def messages(request: web.Request) -> web.Response:
    sent = json.loads(await request.read())
    if request.app[DELAY]:
        await asyncio.sleep(request.app[DELAY])
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


async def healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    app = web.Application()
    app[DELAY] = args.delay_ms / 1000
    app.router.add_post("/{version}/{phone}/messages", messages)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
