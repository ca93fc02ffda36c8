"""Start the gateway: python run.py [--settings FILE] [--host H] [--port P]."""

from __future__ import annotations

import argparse
import asyncio
import sys

from aiohttp import web

from actors.flows.loader import FlowError
from gateway.app import create_app
from gateway.logs import configure_logging
from gateway.settings import SettingsError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="WhatsApp bot gateway")
    parser.add_argument("--settings", default="settings.toml", help="settings file (TOML)")
    parser.add_argument("--host", help="overrides [server] host")
    parser.add_argument("--port", type=int, help="overrides [server] port")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.settings)
        configure_logging(settings.log.level)
        app = create_app(settings)
    except (SettingsError, FlowError) as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    if settings.server.event_loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            print(
                'cannot start: [server] event_loop = "uvloop" needs uvloop installed '
                "(pip install uvloop)",
                file=sys.stderr,
            )
            return 2
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    host = args.host or settings.server.host
    port = args.port or settings.server.port
    web.run_app(
        app, host=host, port=port, access_log=None, print=lambda text: print(text, file=sys.stderr)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
