"""A fake Graph API for benchmarks: accepts every send with a success body, at once."""

from __future__ import annotations

import argparse
import itertools
import json

from aiohttp import web

_ids = itertools.count(1)


async def messages(request: web.Request) -> web.Response:
    sent = json.loads(await request.read())
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
    args = parser.parse_args()
    app = web.Application()
    app.router.add_post("/{version}/{phone}/messages", messages)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
