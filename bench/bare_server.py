"""The baseline: a bare aiohttp server that reads the body and answers 200 with the same
JSON shape the gateway gives, doing nothing else."""

from __future__ import annotations

import argparse

from aiohttp import web

ANSWER = b'{"accepted":1,"duplicates":0,"ignored":0}'


async def receive(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=ANSWER, content_type="application/json")


async def healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8181)
    args = parser.parse_args()
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_post("/webhooks/whatsapp", receive)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
