"""A chat's history from WATI: v1 `GET {api_base}/api/v1/getMessages/{phone}?pageSize=&
pageNumber=` (WATI_API.md section 4), as `HistoryMessage`s.

Why v1 and not V3 (`/api/ext/v3/conversations/{target}/messages`): the v1 items are the ones
that carry what a sync needs to meet the stored messages and show them: `localMessageId`
(our sends are `gw-<outbox id>`), `data` (the media path), `finalText` (templates) and the
operator; V3's live items had none of these, nor a wamid [T: tatva_connect]. v1 also has the
only published rate limit (10 per 10 s, support article 11823158) and lives under the same
tenant URL as the sends. Both are documented; WATI keeps v1 as a "retained legacy exception".

Wire facts used (tags as in WATI_API.md): bearer token on every call [D]; `channelPhoneNumber`
query on multi-number accounts [D]; envelope `{"messages": {"items": [...]}}` [T]; item fields
`id`, `text`, `finalText`, `type`, `data` (relative `data/images/<uuid>.jpg`), `timestamp`,
`owner` (true = business), `statusString`, `eventType` (`message`, plus ticket and call
events), `localMessageId`, `operatorName`, `whatsappMessageId` (seen null) [T]; `created` and
`operatorEmail` as in the webhooks [D] (in history items: unverified); a relative `data` is
served at `{api_base}/api/file/showFile?fileName=<data>` [T]. **The order of the pages is not
documented** (unverified): it is read from the times, so paging stops early only once the
pages are known to run newest first, and otherwise reads to the short (last) page. Business
refusals come as HTTP 200 `{"result": false, "info"}` [T].

Errors: 401/403 (token) and other 4xx are final; 429, 5xx, timeouts and connection errors can
be retried, after `Retry-After` when WATI sends one (not documented for WATI: unverified).
The token is only ever in the request header: never in a log line or an error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final, Protocol
from urllib.parse import quote

import aiohttp
import msgspec
import structlog

from actors.maintenance.history import (
    HistoryChat,
    HistoryError,
    HistoryMessage,
    SenderType,
    oldest_first,
    readable,
)
from gateway.cloud_events import parse_timestamp
from gateway.providers.cloud import retry_seconds
from gateway.providers.wati import USER_AGENT, RatePacer, outbox_id_of
from gateway.providers.wati_answers import info_of, json_or_none
from gateway.wati_events import WatiEvent, structure

log = structlog.get_logger("wati_history")
WINDOW_SECONDS: Final = 10.0  # WATI counts /getMessages calls per 10 seconds
MESSAGE_EVENTS: Final = frozenset({"message", "broadcastMessage"})
_STATUS: Final = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "replied": "read",  # as the webhooks' sentMessageREPLIED
    "played": "played",
    "failed": "failed",
    "pending": "pending",
}


class Pacer(Protocol):
    async def slot(self) -> None: ...


class WatiHistory:
    """`HistorySource` over WATI's v1 history route."""

    name = "wati"

    def __init__(
        self,
        *,
        api_base: str,
        token: str,
        channels: dict[str, str] | None = None,
        timeout_seconds: float = 15.0,
        page_size: int = 100,
        max_pages: int = 50,
        requests_per_second: float = 1.0,
        pacer: Pacer | None = None,
    ) -> None:
        self._base = api_base.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT}
        self._channels = channels or {}  # business number id -> WATI channelPhoneNumber
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._page_size = max(1, page_size)
        self._max_pages = max(1, max_pages)
        # 1 per second is WATI's 10 per 10 s, paced as a 10-second sliding window.
        per_window = max(1, round(requests_per_second * WINDOW_SECONDS))
        self._pacer: Pacer = pacer or RatePacer(per_window, WINDOW_SECONDS)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
        return self._session

    async def fetch(self, chat: HistoryChat, since: datetime | None) -> list[HistoryMessage]:
        if not self._base:
            raise HistoryError("not_configured", retryable=False, detail="api_base is not set")
        found: list[HistoryMessage] = []
        newest_first: bool | None = None  # the pages' order, once the times have told it
        previous: datetime | None = None  # the last item time of the previous page
        for number in range(1, self._max_pages + 1):
            items = await self._page(chat, number)
            times = [t for t in map(created_at, items) if t is not None]
            page = self._messages(chat, items)
            found += [m for m in page if since is None or m.created_at >= since]
            newest_first = _order(times, previous, newest_first)
            previous = times[-1] if times else previous
            if len(items) < self._page_size:
                break
            if since is not None and newest_first and times and min(times) < since:
                break
        else:
            raise HistoryError(
                "too_many_pages",
                retryable=False,
                detail=f"more than {self._max_pages} pages of {self._page_size}",
            )
        log.info(
            "wati_history_read",
            conversation_id=chat.conversation_id,
            pages=number,
            messages=len(found),
            newest_first=newest_first,
        )
        return oldest_first(found)

    def _messages(self, chat: HistoryChat, items: list[Any]) -> list[HistoryMessage]:
        page = []
        for item in items:
            message, reason = to_message(item, self._base)
            if message is not None:
                page.append(message)
            elif reason != "not_a_message":
                log.warning(
                    "wati_history_item_skipped", conversation_id=chat.conversation_id, reason=reason
                )
        return page

    async def _page(self, chat: HistoryChat, number: int) -> list[Any]:
        query = {"pageSize": str(self._page_size), "pageNumber": str(number)}
        channel = self._channels.get(chat.business_id)
        if channel:
            query["channelPhoneNumber"] = channel
        url = f"{self._base}/api/v1/getMessages/{quote(chat.phone.lstrip('+'), safe='')}"
        await self._pacer.slot()
        try:
            async with self._client().get(url, params=query) as response:
                status = response.status
                retry_after = response.headers.get("Retry-After")
                raw = await response.read()
        except TimeoutError as exc:
            raise HistoryError("timeout", retryable=True, detail=f"page {number}") from exc
        except aiohttp.ClientError as exc:
            raise HistoryError("network", retryable=True, detail=type(exc).__name__) from exc
        if status in (401, 403):
            log.error(
                "wati_history_token_refused", status=status, conversation_id=chat.conversation_id
            )
        return page_items(status, raw, retry_after)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def page_items(status: int, raw: bytes, retry_after: str | None) -> list[Any]:
    """The items of one answer, or the HistoryError it amounts to."""
    document = json_or_none(raw)
    if status in (401, 403):
        raise HistoryError("auth", retryable=False, status=status, detail="token refused")
    if status == 429 or status >= 500:
        reason = "rate_limited" if status == 429 else "server"
        raise HistoryError(
            reason,
            retryable=True,
            status=status,
            retry_after=retry_seconds(retry_after),
            detail=info_of(document),
        )
    if not 200 <= status < 300:
        raise HistoryError("bad_request", retryable=False, status=status, detail=info_of(document))
    if not isinstance(document, dict):
        raise HistoryError("bad_response", retryable=False, status=status, detail="not JSON")
    if document.get("result") is False or document.get("ok") is False:
        raise HistoryError("refused", retryable=False, status=status, detail=info_of(document))
    messages = document.get("messages")
    items = messages.get("items") if isinstance(messages, dict) else messages
    if not isinstance(items, list):
        raise HistoryError("bad_response", retryable=False, status=status, detail="no items")
    return items


def to_message(item: Any, api_base: str) -> tuple[HistoryMessage | None, str]:
    """One history item as a message, or None and why not (`not_a_message` for tickets,
    calls and other events, which are not worth a log line)."""
    if not isinstance(item, dict):
        return None, "not_an_object"
    event_type = item.get("eventType") or "message"
    if event_type not in MESSAGE_EVENTS or isinstance(item.get("type"), int):
        return None, "not_a_message"  # V3 tickets carry an integer `type`
    broadcast = event_type == "broadcastMessage"
    fields = {
        **item,
        "eventType": event_type,
        "text": item.get("text") or item.get("finalText"),
        "type": item.get("type") or ("template" if broadcast else None),
        "data": _media_url(item.get("data"), api_base),
    }
    try:
        event = msgspec.convert(fields, WatiEvent)
    except msgspec.ValidationError as exc:
        return None, f"invalid: {str(exc)[:200]}"
    at = created_at(item)
    message_id = event.whatsappMessageId or (f"wati:{event.id}" if event.id else None)
    if at is None or message_id is None:
        return None, "no_time" if at is None else "no_id"
    if event.owner is None and not broadcast:
        return None, "no_owner"
    out = broadcast or bool(event.owner)
    sender = _sender(event) if out else "customer"
    content = structure(event)
    return HistoryMessage(
        provider_message_id=message_id,
        direction="out" if out else "in",
        sender_type=sender,
        kind=(event.type or "text").lower(),
        text=readable(content),
        content=content,
        created_at=at,
        status=_status(item.get("statusString")) if out else None,
        sender_id=(event.operatorEmail or None) if sender == "agent" else None,
        reply_to=event.replyContextId or None,
    ), ""


def created_at(item: Any) -> datetime | None:
    """When a message item was created (aware UTC): its `timestamp` (Unix seconds or ISO),
    else its `created`; None for anything else (and for events that are not messages)."""
    if not isinstance(item, dict) or (item.get("eventType") or "message") not in MESSAGE_EVENTS:
        return None
    for value in (item.get("timestamp"), item.get("created")):
        if isinstance(value, int | str) and value != "":
            try:
                return parse_timestamp(value)
            except (ValueError, OverflowError):
                pass
        if isinstance(value, str) and value:
            try:
                at = datetime.fromisoformat(value)
            except ValueError:
                continue
            return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    return None


def _sender(event: WatiEvent) -> SenderType:
    """Who wrote a business message: our bot (our own `gw-` send, or WATI's bot by name), a
    named operator, or no one named (WATI itself: broadcasts, automations)."""
    if outbox_id_of(event.localMessageId) is not None:
        return "bot"
    name = (event.operatorName or "").strip()
    if name.lower() == "bot":
        return "bot"
    return "agent" if event.operatorEmail or name else "system"


def _status(value: Any) -> str | None:
    return _STATUS.get(value.strip().lower()) if isinstance(value, str) else None


def _media_url(data: Any, api_base: str) -> Any:
    """A relative media path (`data/images/<uuid>.jpg`) as the URL WATI serves it at."""
    if isinstance(data, str) and data and not data.startswith(("http://", "https://")):
        return f"{api_base}/api/file/showFile?fileName={quote(data, safe='/')}"
    return data


def _order(times: list[datetime], previous: datetime | None, known: bool | None) -> bool | None:
    """Whether the pages run newest first: from the first and last times of a page, else
    from this page against the previous one; None while the times cannot tell."""
    if known is not None or not times:
        return known
    if times[0] != times[-1]:
        return times[0] > times[-1]
    if previous is not None and previous != times[0]:
        return times[0] < previous
    return None
