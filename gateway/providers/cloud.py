"""The Meta Cloud API (Graph) provider: `POST {base}/{phone_number_id}/messages`.

Retryable: HTTP 429 and 5xx, Graph codes 130429 (throughput), 131056 (pair rate: 4^n s),
131000/131016/131057 (transient), network errors. Permanent: 131026 (undeliverable),
131047 (24-hour window closed) and every other refusal.
"""

from __future__ import annotations

import asyncio

import aiohttp
import msgspec
import structlog

from actors.outbound import OutboundMessage, SendResult
from gateway.providers.graph_body import graph_body

log = structlog.get_logger("cloud_provider")
RETRYABLE_CODES = frozenset({4, 80007, 130429, 131000, 131016, 131056, 131057})
PERMANENT_CODES = frozenset({131026, 131047})


class _GraphErrorBody(msgspec.Struct):
    message: str | None = None
    code: int | None = None
    error_data: dict[str, object] | None = None


class _GraphError(msgspec.Struct):
    error: _GraphErrorBody | None = None


class _Sent(msgspec.Struct):
    id: str


class _Success(msgspec.Struct):
    messages: list[_Sent] = []


class CloudProvider:
    name = "cloud"

    def __init__(self, *, base_url: str, phone_number_id: str, access_token: str,
                 timeout_seconds: float = 15.0) -> None:
        self._url = f"{base_url.rstrip('/')}/{phone_number_id}/messages"
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
        return self._session

    async def send(self, message: OutboundMessage) -> SendResult:
        try:
            async with self._client().post(self._url, json=graph_body(message)) as response:
                raw = await response.read()
                status = response.status
                retry_after = response.headers.get("Retry-After")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
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
    try:
        error = msgspec.json.decode(raw, type=_GraphError).error
    except msgspec.MsgspecError:
        error = None
    code = error.code if error else None
    details = (error.error_data or {}).get("details") if error else None
    detail = " ".join(str(p) for p in (error.message if error else None, details) if p)
    detail = detail or f"HTTP {status}"
    after = _seconds(retry_after)
    if code in PERMANENT_CODES:
        return SendResult(ok=False, retryable=False, error_code=code, error_detail=detail)
    if status == 429 or status >= 500 or code in RETRYABLE_CODES:
        return SendResult(ok=False, retryable=True, error_code=code, error_detail=detail,
                          retry_after=after)
    return SendResult(ok=False, retryable=False, error_code=code, error_detail=detail)


def _seconds(header: str | None) -> float | None:
    try:
        return None if header is None else max(0.0, float(header))
    except ValueError:
        return None
