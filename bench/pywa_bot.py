"""The peer: a minimal webhook bot built with pywa on its FastAPI server (uvicorn). It
verifies the signature and replies to each message through the Graph API (pointed at a fake
Graph server), persisting nothing. pywa answers the webhook after its handler (the reply)."""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI
from pywa_async import WhatsApp, types

from bench.payloads import APP_SECRET, BUSINESS


def build(graph_url: str) -> FastAPI:
    app = FastAPI()
    wa = WhatsApp(
        phone_id=BUSINESS,
        token="tok",
        server=app,
        verify_token="verify",
        app_secret=APP_SECRET,
        webhook_endpoint="/webhooks/whatsapp",
        validate_updates=True,
    )
    wa.api._session.base_url = f"{graph_url}/v21.0"

    @wa.on_message()
    async def reply(_client: WhatsApp, message: types.Message) -> None:
        await message.reply_text("How can we help you today?", quote=False)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--graph", required=True)
    args = parser.parse_args()
    uvicorn.run(
        build(args.graph), host="127.0.0.1", port=args.port, log_level="warning", access_log=False
    )


if __name__ == "__main__":
    main()
