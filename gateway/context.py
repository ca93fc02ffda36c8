"""What the HTTP edge holds for one running gateway (kept in the aiohttp app)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from actors.system import Runtime
from gateway.auth import Authenticator
from gateway.settings import Secrets, Settings


@dataclass
class Gateway:
    settings: Settings
    secrets: Secrets
    runtime: Runtime
    auth: Authenticator
    accepting: bool = False
    warnings: list[str] = field(default_factory=list)


GATEWAY = web.AppKey("gateway", Gateway)


def gateway_of(request: web.Request) -> Gateway:
    return request.app[GATEWAY]
