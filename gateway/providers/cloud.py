"""The Meta Cloud API (Graph) provider: `POST {base}/{phone_number_id}/messages`.

Retryable: HTTP 429 and 5xx, Graph codes 130429 (throughput), 131056 (pair rate: 4^n s),
131000/131016/131057 (transient), network errors. Permanent: 131026 (undeliverable),
131047 (24-hour window closed) and every other refusal.
"""

from __future__ import annotations

import math
from typing import Any

import aiohttp
import msgspec
import structlog

from actors.outbox.outbound import OutboundMessage, SendResult
from gateway.providers.graph_body import graph_body

log = structlog.get_logger("cloud_provider")
RETRYABLE_CODES = frozenset({4, 80007, 130429, 131000, 131016, 131056, 131057})
PERMANENT_CODES = frozenset({131026, 131047})


class _Sent(msgspec.Struct):
    id: str


class _Success(msgspec.Struct):
    messages: list[_Sent] = []


class CloudProvider:
    name = "cloud"

    def __init__(
        self,
        *,
        base_url: str,
        phone_number_id: str,
        access_token: str,
        timeout_seconds: float = 15.0,
        connections: int = 100,
    ) -> None:
        self._url = f"{base_url.rstrip('/')}/{phone_number_id}/messages"
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._connections = connections  # as many as the outbox has sends in flight
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                headers=self._headers,
                connector=aiohttp.TCPConnector(limit=self._connections),
            )
        return self._session

    async def send(self, message: OutboundMessage) -> SendResult:
        try:
            async with self._client().post(self._url, json=graph_body(message)) as response:
                raw = await response.read()
                status = response.status
                retry_after = response.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError) as exc:
            # The request may or may not have reached Meta; a duplicate beats a lost reply.
            return SendResult(ok=False, retryable=True, error_detail=f"network: {exc!r}")
        if 200 <= status < 300:
            try:
                sent = msgspec.json.decode(raw, type=_Success)
            except msgspec.MsgspecError:
                sent = _Success()
            pid = sent.messages[0].id if sent.messages else None
            return SendResult(ok=True, provider_message_id=pid)
        return classify(status, raw, retry_after)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def classify(status: int, raw: bytes, retry_after: str | None = None) -> SendResult:
    """A refused send: retry or give up, from the HTTP status and the Graph error code."""
    code, detail = _graph_error(raw)
    detail = detail or f"HTTP {status}"
    after = retry_seconds(retry_after)
    if code in PERMANENT_CODES:
        return SendResult(ok=False, retryable=False, error_code=code, error_detail=detail)
    if status == 429 or status >= 500 or code in RETRYABLE_CODES:
        return SendResult(
            ok=False, retryable=True, error_code=code, error_detail=detail, retry_after=after
        )
    return SendResult(ok=False, retryable=False, error_code=code, error_detail=detail)


def _graph_error(raw: bytes) -> tuple[int | None, str]:
    """The Graph error's `code` and its `message` plus `error_data.details`.

    Read field by field: one odd field (Graph sometimes sends `error_data` as a string, a
    proxy may answer with HTML) must not lose the code, which decides retry or give up.
    """
    try:
        document: Any = msgspec.json.decode(raw)
    except msgspec.MsgspecError:
        return None, ""
    error = document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict):
        return None, ""
    code = error.get("code")
    if isinstance(code, str) and code.isascii() and code.isdigit():
        code = int(code)
    if not isinstance(code, int) or isinstance(code, bool):
        code = None
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, dict) else None
    parts = (error.get("message"), details)
    return code, " ".join(p for p in parts if isinstance(p, str) and p)


def retry_seconds(header: str | None) -> float | None:
    """Retry-After in seconds; None if absent, not a number, or not finite ("inf" would
    schedule the retry at an impossible time)."""
    try:
        seconds = None if header is None else float(header)
    except ValueError:
        return None
    return None if seconds is None or not math.isfinite(seconds) else max(0.0, seconds)
