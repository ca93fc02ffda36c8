"""Webhook authenticity: Meta's `X-Hub-Signature-256` and WATI's shared token."""

from __future__ import annotations

import hashlib
import hmac


def valid_signature(raw: bytes, header: str | None, secret: str) -> bool:
    """HMAC-SHA256 of the raw body with the app secret, compared in constant time."""
    if not header or not header.isascii() or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header[7:].strip().lower().encode())


def sign(raw: bytes, secret: str) -> str:
    """The header value Meta would send for `raw` (tests and benchmarks use it)."""
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def valid_token(given: str | None, expected: str) -> bool:
    """Constant-time; a token that is not ASCII (invalid UTF-8 in a header) is no token."""
    if given is None or not given.isascii():
        return False
    return hmac.compare_digest(given.encode(), expected.encode())
