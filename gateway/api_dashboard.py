"""The agent dashboard: its static files at `/dashboard/` (no build step, no request leaves
the gateway: the Content-Security-Policy says so), who the signed-in operator is
(`GET /api/me`) and the quick replies it offers (`GET /api/canned-responses`)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from gateway.auth import ENV_ADMIN_ID, principal_of, requires
from gateway.context import gateway_of
from gateway.jsonio import json_response

FILES = Path(__file__).parent / "dashboard"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Everything from the gateway itself; images and documents of messages come as blobs.
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:;"
    " media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none';"
    " frame-ancestors 'none'; form-action 'none'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _served() -> dict[str, Path]:
    """The files that may be served, by name: nothing outside the folder, ever."""
    return {p.name: p for p in FILES.iterdir() if p.is_file() and p.suffix in TYPES}


async def index(request: web.Request) -> web.StreamResponse:
    return _file("index.html")


async def asset(request: web.Request) -> web.StreamResponse:
    return _file(request.match_info["name"])


async def redirect(request: web.Request) -> web.StreamResponse:
    raise web.HTTPPermanentRedirect("/dashboard/")


def _file(name: str) -> web.Response:
    path = _served().get(name)
    if path is None:
        raise web.HTTPNotFound(text="no such file", headers=HEADERS)
    return web.Response(
        body=path.read_bytes(), headers={**HEADERS, "Content-Type": TYPES[path.suffix]}
    )


@requires("agent")
async def me(request: web.Request) -> web.Response:
    """The caller: the dashboard shows the name and role, and knows whether it takes chats
    (the environment's admin token is no operator)."""
    principal = principal_of(request)
    return json_response(
        {
            "id": principal.id,
            "name": principal.name,
            "role": principal.role,
            "operator": principal.id != ENV_ADMIN_ID,
        }
    )


@requires("agent")
async def canned_responses(request: web.Request) -> web.Response:
    found = gateway_of(request).settings.dashboard.canned_responses
    return json_response({"items": found, "total": len(found)})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/dashboard", redirect)
    app.router.add_get("/dashboard/", index)
    app.router.add_get("/dashboard/{name}", asset)
    app.router.add_get("/api/me", me)
    app.router.add_get("/api/canned-responses", canned_responses)
