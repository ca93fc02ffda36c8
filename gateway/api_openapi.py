"""`GET /api/openapi.json` (the document, built once from the running app's route table) and
`GET /api/docs` (a page that shows it: static files of our own, no request leaves the
gateway). Both are public: they describe the surface, never data, and a browser opening the
page has no bearer token to send."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from gateway.api_docs import DOCS
from gateway.jsonio import json_response
from gateway.openapi import build

FILES = Path(__file__).parent / "apidocs"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none';"
    " form-action 'none'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
TITLE = "WhatsApp bot gateway"


class _Document:
    """The app's document, built at the first ask (the router is frozen by then)."""

    def __init__(self) -> None:
        self.built: dict[str, Any] | None = None

    def of(self, app: web.Application) -> dict[str, Any]:
        if self.built is None:
            self.built = build(app, DOCS, TITLE)
        return self.built


DOCUMENT = web.AppKey("openapi_document", _Document)


def document(app: web.Application) -> dict[str, Any]:
    return app[DOCUMENT].of(app)


async def openapi_json(request: web.Request) -> web.Response:
    return json_response(document(request.app))


async def docs_page(request: web.Request) -> web.Response:
    return _file("index.html")


async def docs_asset(request: web.Request) -> web.Response:
    return _file(request.match_info["name"])


def _file(name: str) -> web.Response:
    served = {p.name: p for p in FILES.iterdir() if p.is_file() and p.suffix in TYPES}
    path = served.get(name)
    if path is None:
        raise web.HTTPNotFound(text="no such file", headers=HEADERS)
    return web.Response(
        body=path.read_bytes(), headers={**HEADERS, "Content-Type": TYPES[path.suffix]}
    )


def add_routes(app: web.Application) -> None:
    app[DOCUMENT] = _Document()
    app.router.add_get("/api/openapi.json", openapi_json)
    app.router.add_get("/api/docs", docs_page)
    app.router.add_get("/api/docs/{name}", docs_asset)
