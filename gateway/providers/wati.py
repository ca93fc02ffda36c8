"""The WATI provider: the bot's sends through WATI's API.

- Session text: v1 `POST {api_base}/api/v1/sendSessionMessage/{target}`, every field in the
  query (`messageText`, `localMessageId`, `channelPhoneNumber`).
- Reply buttons (up to 3, titles up to 20) and lists (up to 10 rows): v1
  `sendInteractiveButtonsMessage` / `sendInteractiveListMessage?whatsappNumber=`, JSON.
- Templates: V3 `POST {host}/api/ext/v3/messageTemplates/send`, named parameters.

`api_base` is WATI's "API Endpoint URL", tenant included (`https://live-mt-server.wati.io/
123456`); V3 routes are host-rooted, so the tenant is stripped for them. Every send carries a
`localMessageId` of ours, made from the outbox id (`gw-<id>`): it is known before the request,
so that the echo WATI posts back (`sessionMessageSent_v2`, `templateMessageSent_v2`) is
recognised as ours even when it arrives before WATI's answer.

WATI answers business refusals with an HTTP 200 whose body says `result: false` (or, for
templates, per-recipient `errors`): those are failures. 429 and 5xx are retried (with
`Retry-After` when given), and templates are paced at WATI's published rate; 400, 401 and
403 are permanent, and a refused token is logged at error once, not once per message.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp
import structlog

from actors.outbox.outbound import OutboundMessage, SendResult
from gateway.providers.cloud import retry_seconds
from gateway.providers.wati_answers import info_of, json_or_none

log = structlog.get_logger("wati_provider")
LOCAL_ID = re.compile(r"gw-([0-9]{1,18})")
MAX_TEXT = 4096
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_ROWS = 10
USER_AGENT = "wa-gateway/0.1 (+aiohttp)"  # WATI's Cloudflare refuses default client agents


def local_message_id(outbox_id: int) -> str:
    """Our id for a send, given to WATI and echoed back by it."""
    return f"gw-{outbox_id}"


def outbox_id_of(local_id: str | None) -> int | None:
    """The outbox row a `localMessageId` of ours names (None for anyone else's)."""
    match = LOCAL_ID.fullmatch(local_id or "")
    return int(match.group(1)) if match else None


def v3_base(api_base: str) -> str:
    """The host-rooted base of V3 routes: the endpoint URL without its tenant segment."""
    parts = urlsplit(api_base.rstrip("/"))
    path = re.sub(r"/[0-9]+$", "", parts.path)
    return urlunsplit((parts.scheme, parts.netloc, path, "", "")).rstrip("/")


class RatePacer:
    """At most `count` calls in any `seconds` (a sliding window); waits for a slot."""

    def __init__(self, count: int, seconds: float) -> None:
        self._count = count
        self._seconds = seconds
        self._calls: deque[float] = deque()

    async def slot(self) -> None:
        while True:
            now = time.monotonic()
            while self._calls and now - self._calls[0] >= self._seconds:
                self._calls.popleft()
            if len(self._calls) < self._count:
                self._calls.append(now)
                return
            await asyncio.sleep(self._seconds - (now - self._calls[0]))


class WatiProvider:
    name = "wati"

    def __init__(
        self,
        *,
        api_base: str,
        token: str,
        channels: dict[str, str] | None = None,
        timeout_seconds: float = 15.0,
        connections: int = 100,
        templates_per_10s: int = 30,
    ) -> None:
        self._base = api_base.rstrip("/")
        self._v3 = v3_base(api_base) if api_base else ""
        self._headers = {"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT}
        self._channels = channels or {}  # business number id -> WATI channelPhoneNumber
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._connections = connections  # as many as the outbox has sends in flight
        self._templates = RatePacer(templates_per_10s, 10.0)
        self._session: aiohttp.ClientSession | None = None
        self._token_refused = False

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                headers=self._headers,
                connector=aiohttp.TCPConnector(limit=self._connections),
            )
        return self._session

    async def send(self, message: OutboundMessage) -> SendResult:
        if not self._base:
            return SendResult(ok=False, error_detail="[wati] api_base is not set")
        local = local_message_id(message.outbox_id)
        target = message.to.lstrip("+")
        channel = self._channels.get(message.business_id)
        if message.kind == "template" and message.template is not None:
            await self._templates.slot()
            url = f"{self._v3}/api/ext/v3/messageTemplates/send"
            return await self._post(url, None, _template_body(message, local, target, channel),
                                    local)  # fmt: skip
        query: dict[str, str] = {"localMessageId": local}
        if channel:
            query["channelPhoneNumber"] = channel
        if message.kind == "text" or not message.choices:
            query["messageText"] = message.text[:MAX_TEXT]
            url = f"{self._base}/api/v1/sendSessionMessage/{quote(target, safe='')}"
            return await self._post(url, query, None, local)
        query["whatsappNumber"] = target
        if message.kind == "buttons" and len(message.choices) <= MAX_BUTTONS:
            url = f"{self._base}/api/v1/sendInteractiveButtonsMessage"
            return await self._post(url, query, _buttons_body(message), local)
        url = f"{self._base}/api/v1/sendInteractiveListMessage"
        return await self._post(url, query, _list_body(message), local)

    async def _post(
        self, url: str, query: dict[str, str] | None, body: Any, local: str
    ) -> SendResult:
        try:
            async with self._client().post(url, params=query, json=body) as response:
                raw = await response.read()
                status = response.status
                retry_after = response.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError) as exc:
            # The request may or may not have reached WATI; a duplicate beats a lost reply.
            return SendResult(ok=False, retryable=True, error_detail=f"network: {exc!r}")
        return self._read(status, raw, retry_after, local)

    def _read(self, status: int, raw: bytes, retry_after: str | None, local: str) -> SendResult:
        document = json_or_none(raw)
        if status in (401, 403):
            if not self._token_refused:
                self._token_refused = True
                log.error("wati_token_refused", status=status)
            return SendResult(ok=False, error_code=status, error_detail=f"HTTP {status}: token")
        if status == 429 or status >= 500:
            return SendResult(
                ok=False,
                retryable=True,
                error_code=status,
                error_detail=f"HTTP {status} {info_of(document)}".strip(),
                retry_after=retry_seconds(retry_after),
            )
        if not 200 <= status < 300:
            return SendResult(
                ok=False,
                error_code=status,
                error_detail=f"HTTP {status} {info_of(document)}".strip(),
            )
        self._token_refused = False
        refusal = _refusal(document)
        if refusal is not None:
            return SendResult(ok=False, error_detail=refusal)
        return SendResult(ok=True, provider_message_id=_wamid(document) or local)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _refusal(document: Any) -> str | None:
    """Why a 200 is a failure: `result: false`, `success: false`, a recipient's `errors`,
    or a message whose status is `failed`; None when it was accepted."""
    if not isinstance(document, dict):
        return None
    if document.get("result") is False or document.get("success") is False:
        return info_of(document) or "refused by WATI"
    recipients = document.get("recipients") or document.get("receivers") or []
    for recipient in recipients if isinstance(recipients, list) else []:
        errors = recipient.get("errors") if isinstance(recipient, dict) else None
        if errors:
            return "; ".join(str(e) for e in errors)[:500]
    message = document.get("message")
    if isinstance(message, dict) and str(message.get("status", "")).lower() == "failed":
        return str(message.get("failed_detail") or "failed")
    return None


def _wamid(document: Any) -> str | None:
    message = document.get("message") if isinstance(document, dict) else None
    if isinstance(message, dict):
        wamid = message.get("whatsappMessageId") or message.get("whatsapp_message_id")
        if isinstance(wamid, str) and wamid:
            return wamid
    return None


def _buttons_body(message: OutboundMessage) -> dict[str, Any]:
    body: dict[str, Any] = {
        "body": message.text[:1024],
        "buttons": [{"text": c.title[:MAX_BUTTON_TITLE]} for c in message.choices],
    }
    if message.header:
        body["header"] = {"type": "Text", "text": message.header[:60]}
    if message.footer:
        body["footer"] = message.footer[:60]
    return body


def _list_body(message: OutboundMessage) -> dict[str, Any]:
    rows = []
    for c in message.choices[:MAX_ROWS]:
        row = {"title": c.title[:24]}
        if c.description:
            row["description"] = c.description[:72]
        rows.append(row)
    body: dict[str, Any] = {
        "body": message.text[:1024],
        "buttonText": message.list_button[:20],
        "sections": [{"title": "Options", "rows": rows}],
    }
    if message.header:
        body["header"] = message.header[:60]
    if message.footer:
        body["footer"] = message.footer[:60]
    return body


def _template_body(
    message: OutboundMessage, local: str, target: str, channel: str | None
) -> dict[str, Any]:
    assert message.template is not None
    return {
        "template_name": message.template.name,
        "broadcast_name": f"gateway-{message.template.name}",
        "channel": channel,
        "recipients": [
            {
                "target": target,
                "local_message_id": local,
                "custom_params": [
                    {"name": name, "value": value}
                    for name, value in message.template.params.items()
                ],
            }
        ],
    }
