"""Bearer-token authentication and role checks, in one middleware for every API route.

Roles are ordered: agent < supervisor < admin. A route declares the least role it needs
with `@requires(role)`; routes without it are public (webhooks, health, metrics, docs).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Literal

import msgspec
import structlog
from aiohttp import web

from actors.accounts import hash_token
from gateway.auth_failures import FailureLimiter, client_address
from gateway.errors import ApiError
from gateway.signature import valid_token
from storage.store import Store

log = structlog.get_logger("auth")
Role = Literal["agent", "supervisor", "admin"]
RANK: dict[str, int] = {"agent": 1, "supervisor": 2, "admin": 3}
ENV_ADMIN_ID = "admin"  # the principal of `auth.admin_token_env`; not an operator
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Principal(msgspec.Struct, frozen=True):
    """Who is calling."""

    id: str
    name: str
    role: Role


PRINCIPAL = web.RequestKey("principal", Principal)
AUTH_FAILURES = web.AppKey("auth_failures", FailureLimiter)


class Authenticator:
    """Finds the principal of a token: the admin from the environment, or an operator by the
    SHA-256 of its token. Operators found are remembered for a minute (a request costs no
    read), and forgotten the moment an admin changes one (`forget`): a deactivated operator,
    a changed role or a replaced token counts from the operator's next request. Whoever
    holds a connection open on the old access (the real-time feed) is told (`on_revoke`)."""

    TTL_SECONDS = 60.0
    MAX_KNOWN = 10_000

    def __init__(self, admin_token: str, store: Store | None = None) -> None:
        self._admin_token = admin_token
        self._store = store
        self._known: dict[str, tuple[Principal, float]] = {}
        # Counts `forget`s: a lookup that was reading while one happened may have read the
        # operator as it was, so what it found is not remembered.
        self._generation = 0
        self._revoke_listeners: list[Callable[[str], None]] = []

    def on_revoke(self, listener: Callable[[str], None]) -> None:
        """Call `listener(operator_id)` when an operator's access ends or changes."""
        self._revoke_listeners.append(listener)

    def forget(self, operator_id: str, *, revoke: bool = True) -> None:
        """Drop what is cached for this operator: a changed role, a deactivation or a new
        token counts from its next request. `revoke`: its access ended or changed (not a mere
        rename), so open connections made with it are closed too."""
        self._generation += 1
        for digest, (principal, _) in list(self._known.items()):
            if principal.id == operator_id:
                del self._known[digest]
        if revoke:
            for listener in self._revoke_listeners:
                listener(operator_id)

    async def principal(self, token: str) -> Principal | None:
        if self._admin_token and valid_token(token, self._admin_token):
            return Principal(id=ENV_ADMIN_ID, name="admin", role="admin")
        if self._store is None:
            return None
        digest = hash_token(token)
        now = time.monotonic()
        known = self._known.get(digest)
        if known is not None and known[1] > now:
            return known[0]
        generation = self._generation
        operator = await self._store.operator_by_token(digest)
        if operator is None:
            self._known.pop(digest, None)
            return None
        principal = Principal(id=operator.id, name=operator.name, role=operator.role)
        if generation == self._generation:
            if len(self._known) >= self.MAX_KNOWN:
                self._known.clear()
            self._known[digest] = (principal, now + self.TTL_SECONDS)
        return principal


def requires(role: Role) -> Callable[[Handler], Handler]:
    def mark(handler: Handler) -> Handler:
        handler.min_role = role  # type: ignore[attr-defined]
        return handler

    return mark


def bearer_token(request: web.Request) -> str | None:
    """The token of `Authorization: Bearer`, or `?token=` on the WebSocket; None when there
    is none, or it is not ASCII (tokens are, so such a header is no token)."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        token = header[7:].strip() or None
    else:
        token = request.query.get("token") if request.path.endswith("/ws") else None
    return token if token is not None and token.isascii() else None


def make_auth_middleware(
    auth: Authenticator, failures: FailureLimiter, forwarded_for_hops: int = 0
) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Authenticate and authorise every route that declares a role. Wrong tokens count
    against the client's address (`auth_failures`): past the bound, that address is
    answered 429 before its token is even looked at."""

    @web.middleware
    async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        route_handler = request.match_info.handler
        min_role: str | None = getattr(route_handler, "min_role", None)
        if min_role is None:
            return await handler(request)
        token = bearer_token(request)
        if token is None:
            raise ApiError(401, "unauthorized", "a bearer token is required")
        address = client_address(request, forwarded_for_hops)
        wait = failures.retry_after(address)
        if wait is not None:
            raise too_many_failures(wait)
        principal = await auth.principal(token)
        if principal is None:
            if failures.failed(address):
                log.warning("auth_failures_throttled", remote=address, seconds=failures.window)
            raise ApiError(401, "unauthorized", "the token is not valid")
        if RANK[principal.role] < RANK[min_role]:
            raise ApiError(403, "forbidden", f"this needs the {min_role} role")
        request[PRINCIPAL] = principal
        return await handler(request)

    return auth_middleware


def too_many_failures(wait: int) -> ApiError:
    return ApiError(
        429,
        "too_many_failures",
        f"too many wrong tokens from this address; retry in {wait} s",
        headers={"Retry-After": str(wait)},
    )


def principal_of(request: web.Request) -> Principal:
    return request[PRINCIPAL]


def at_least(principal: Principal, role: Role) -> bool:
    return RANK[principal.role] >= RANK[role]
