"""Failed bearer tokens, counted per client address, so that tokens cannot be guessed at
speed: past `[auth] failures_per_window` wrong tokens in `failure_window_seconds`, an
address gets 429 (with `Retry-After`) for every authenticated request, a valid token
included (else a guess that hits would show), until its oldest failure is out of the
window. Successes do not count; other addresses are not touched.

Memory is bounded: at most `tracked_addresses` addresses are remembered, the one that failed
least recently forgotten first, each with at most `failures_per_window` instants. IPv6
addresses count by their /64 (one host holds a whole /64). Behind proxies, the client is
the address the nearest `forwarded_for_hops` trusted proxies name in `X-Forwarded-For`; with
0 (the default) that header is ignored, since anybody can send it.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from aiohttp import web

MAX_ADDRESS = 64  # characters of an address that is not an IP (kept as a key)


class FailureLimiter:
    """Per-address sliding windows of failures, in a bounded LRU."""

    def __init__(
        self,
        limit: int,
        window_seconds: float,
        max_addresses: int,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        self.limit = limit
        self.window = window_seconds
        self.max_addresses = max_addresses
        self._monotonic = monotonic or _monotonic
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._failures)

    def retry_after(self, address: str) -> int | None:
        """Seconds until this address may try again (at least 1), or None if it may now."""
        if self.limit <= 0:
            return None
        failures = self._failures.get(address)
        if failures is None or len(failures) < self.limit:
            return None
        wait = failures[0] + self.window - self._monotonic()
        return max(1, math.ceil(wait)) if wait > 0 else None

    def failed(self, address: str) -> bool:
        """Count a wrong token; True when it makes the address wait."""
        if self.limit <= 0:
            return False
        failures = self._failures.get(address)
        if failures is None:
            failures = self._failures[address] = deque(maxlen=self.limit)
            while len(self._failures) > self.max_addresses:
                self._failures.popitem(last=False)
        else:
            self._failures.move_to_end(address)
        failures.append(self._monotonic())
        return self.retry_after(address) is not None


def _monotonic() -> float:
    return time.monotonic()  # looked up at each call (a test's frozen time applies)


def client_address(request: web.Request, forwarded_for_hops: int) -> str:
    """Who is asking: the peer, or (behind `forwarded_for_hops` trusted proxies) the entry
    of `X-Forwarded-For` the farthest trusted proxy wrote; an IPv6 address as its /64."""
    address = request.remote or ""
    if forwarded_for_hops > 0:
        chain = [
            part.strip()
            for header in request.headers.getall("X-Forwarded-For", [])
            for part in header.split(",")
        ]
        chain = [part for part in chain if part]
        if chain:
            address = chain[max(0, len(chain) - forwarded_for_hops)]
    return _key(address)


def _key(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return address[:MAX_ADDRESS]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
