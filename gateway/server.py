"""Serving the app: aiohttp's runner, with a protocol handler whose own errors (a request
line or header the HTTP parser refuses, a body it cannot decompress) are answered in the
API's JSON error shape and logged as one JSON line that names the error, never the bytes
that caused it (a bad header can be a bearer token)."""

from __future__ import annotations

import socket
from typing import Any

import structlog
from aiohttp import web
from aiohttp.http_exceptions import (
    BadHttpMessage,
    BadStatusLine,
    ContentEncodingError,
    HttpProcessingError,
    InvalidHeader,
    InvalidURLError,
    LineTooLong,
)
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from gateway.errors import error_response

log = structlog.get_logger("http")

# What each refusal of the HTTP parser is, in words that carry nothing of the request.
_REASONS: list[tuple[type[BaseException], str, str]] = [
    (LineTooLong, "line_too_long", "the request line or a header is too long"),
    (InvalidHeader, "invalid_header", "a header is not valid"),
    (InvalidURLError, "invalid_url", "the URL is not valid"),
    (BadStatusLine, "bad_request_line", "the request line is not valid HTTP"),
    (ContentEncodingError, "unsupported_encoding", "the Content-Encoding is not supported"),
    (BadHttpMessage, "bad_request", "the request is not valid HTTP"),
    (HttpProcessingError, "bad_request", "the request could not be read"),
]


def describe(exc: BaseException | None) -> tuple[str, str]:
    for kind, code, reason in _REASONS:
        if isinstance(exc, kind):
            return code, reason
    return "bad_request", "the request could not be read"


class JsonErrorHandler(RequestHandler):
    """aiohttp's protocol handler, answering its own errors as the API does."""

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status >= 500 and not isinstance(exc, HttpProcessingError):
            log.error("request_failed", status=status, error=type(exc).__name__, exc_info=exc)
            code, reason = "internal_error", "internal error"
        else:
            code, reason = describe(exc)
            log.warning("bad_http_request", status=status, code=code, remote=request.remote)
        if request.writer.output_size > 0:
            raise ConnectionError("the response had begun; no error can follow it")
        response = error_response(status, code, reason)
        response.force_close()
        return response


class _Server(web.Server):
    def __call__(self) -> RequestHandler:
        return JsonErrorHandler(self, loop=self._loop, **self._kwargs)


class GatewayRunner(web.AppRunner):
    """An AppRunner whose connections use JsonErrorHandler."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _Server  # the same server, making the handler above
        return server


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything starts (OSError when the port is
    taken)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


async def start(app: web.Application, sock: socket.socket, **kwargs: Any) -> GatewayRunner:
    """Start the app (its start-up runs here) and serve it on `sock`."""
    runner = GatewayRunner(app, access_log=None, handle_signals=False, **kwargs)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return runner
