"""A fake WhatsApp Cloud API (Graph) server for tests: `POST /{version}/{phone_number_id}/messages`,
and media downloads (`GET /{version}/{media_id}`, then the URL it names).

Usage::

    graph = FakeGraph(access_token="tok")
    server = await aiohttp_server(graph.app)
    provider = CloudProvider(base_url=str(server.make_url("/v21.0")),
                             phone_number_id="310000000000002", access_token="tok")
    graph.fail_next(status=400, code=131047)   # the next request is refused, then success
    ...
    graph.requests       # every request, in arrival order (refused ones too)
    graph.sent_texts()   # the text of every accepted message, in order
    graph.reset()        # forget requests and planned failures

    graph.add_media("1299887766554433", b"...", "image/jpeg")
    graph.fail_next_media(status=404)   # the next media request is refused
    graph.media_requests  # every media request (metadata and bytes), in arrival order

    graph.latency = lambda: 0.05     # each send answered after this many seconds (recorded
                                     # on arrival: a send Meta received counts as sent)
    graph.on_accepted = callback     # called with each accepted send's record, on arrival

Answers follow PROTOCOL.md section 2: the success body of 2.2 (`wamid.FAKE_<n>`, n counting
accepted messages from 1) and the Graph error shape of 2.3. A wrong Bearer token gets a 401
with code 190; a body that breaks the documented limits (2.1) gets a 400 with code 131009, so
a provider bug shows up as a refusal. Mark-as-read bodies (2.6) get `{"success": true}`.

Media follows PROTOCOL.md 1.4: `GET /{version}/{media_id}` answers `{url, mime_type, sha256,
file_size, id}` with a URL on this server (`/media-bytes/{media_id}?...`) that gives the bytes.
Both need the Bearer token (401, code 190); an unknown id gets Graph's 400 with code 100.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

__all__ = ["FakeGraph", "MediaRequest", "PlannedResponse", "RecordedRequest", "graph_error"]

# The Graph error used when `fail_next` names no code: 401 -> expired token, 429 -> throughput,
# 5xx -> "An unknown error occurred" (code 1), any other 4xx -> "Invalid parameter" (code 100).
_DEFAULT_CODES = {401: 190, 429: 130429}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake saw it, and what it answered."""

    path: str
    version: str
    phone_number_id: str
    headers: CIMultiDict[str]
    body: Any  # the parsed JSON, or None if the body was not JSON
    status: int  # the HTTP status the fake answered with
    wamid: str | None = None  # the message id given, for an accepted message

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300

    @property
    def outbox_id(self) -> int | None:
        """The gateway's outbox row id, from `biz_opaque_callback_data` (`outbox:<id>`)."""
        data = self.body.get("biz_opaque_callback_data") if isinstance(self.body, dict) else None
        if isinstance(data, str) and data.startswith("outbox:") and data[7:].isdigit():
            return int(data[7:])
        return None

    @property
    def text(self) -> str | None:
        """The customer-visible text: `text.body`, or the interactive message's body text."""
        if not isinstance(self.body, dict):
            return None
        kind = self.body.get("type")
        part = self.body.get(kind) if isinstance(kind, str) else None
        if kind == "text" and isinstance(part, dict):
            return _str(part.get("body"))
        if kind == "interactive" and isinstance(part, dict):
            inner = part.get("body")
            return _str(inner.get("text")) if isinstance(inner, dict) else None
        return None


@dataclass(frozen=True)
class MediaRequest:
    """One media request: `kind` is "metadata" (`GET /{version}/{id}`) or "bytes"."""

    kind: str
    media_id: str
    headers: CIMultiDict[str]
    status: int


@dataclass(frozen=True)
class PlannedResponse:
    """A scripted answer for one request: `status` with `body` and extra `headers`."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def graph_error(
    code: int, message: str = "Fake error", details: str = "Fake details", **extra: Any
) -> dict[str, Any]:
    """The Graph API error body (PROTOCOL.md 2.3); `extra` adds fields to `error`."""
    return {
        "error": {
            "message": f"(#{code}) {message}",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "fbtrace_id": "x",
            **extra,
        }
    }


class FakeGraph:
    """The fake server's state; `app` is the aiohttp application to serve."""

    def __init__(
        self, *, access_token: str = "tok", phone_number_id: str | None = None, strict: bool = True
    ) -> None:
        """`phone_number_id`: if given, other ids are refused (400, code 100).
        `strict`: refuse bodies that break Meta's documented limits (code 131009)."""
        self.access_token = access_token
        self.phone_number_id = phone_number_id
        self.strict = strict
        self.requests: list[RecordedRequest] = []
        self._planned: deque[PlannedResponse] = deque()
        self._accepted = 0
        self._app: web.Application | None = None
        self.media: dict[str, tuple[bytes, str]] = {}  # media id -> (bytes, mime type)
        self.media_requests: list[MediaRequest] = []
        self._planned_media: deque[tuple[str | None, PlannedResponse]] = deque()
        self.latency: Callable[[], float] | None = None
        self.on_accepted: Callable[[RecordedRequest], None] | None = None

    @property
    def app(self) -> web.Application:
        """The application (built once; serve it once, e.g. with `aiohttp_server`)."""
        if self._app is None:
            self._app = web.Application()
            self._app.router.add_post("/{version}/{phone_number_id}/messages", self._messages)
            # before the metadata route, which would match this path too
            self._app.router.add_get("/media-bytes/{media_id}", self._media_bytes)
            self._app.router.add_get("/{version}/{media_id}", self._media_metadata)
        return self._app

    # -- scripting ---------------------------------------------------------------------

    def fail_next(
        self,
        status: int = 400,
        code: int | None = None,
        *,
        message: str = "Fake error",
        details: str = "Fake details",
        retry_after: float | str | None = None,
        raw: bytes | None = None,
        times: int = 1,
    ) -> None:
        """Refuse the next `times` valid requests (after the queued ones) with a Graph error.

        `code` defaults by status (401: 190, 429: 130429, 5xx: 1, other: 100). `raw` replaces
        the JSON body (e.g. a proxy's HTML page); `retry_after` sets the Retry-After header.
        """
        if code is None:
            code = _DEFAULT_CODES.get(status, 1 if status >= 500 else 100)
        body = raw if raw is not None else _json(graph_error(code, message, details))
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        for _ in range(times):
            self._planned.append(PlannedResponse(status, body, headers))

    def respond_next(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        """Answer the next valid request with any JSON `body` (bytes are sent as they are)."""
        raw = body if isinstance(body, bytes) else _json(body)
        self._planned.append(PlannedResponse(status, raw, dict(headers or {})))

    def add_media(self, media_id: str, data: bytes, mime_type: str = "image/jpeg") -> None:
        """Media a customer sent: `GET /{version}/{media_id}` finds it from now on."""
        self.media[media_id] = (data, mime_type)

    def fail_next_media(
        self,
        status: int = 404,
        code: int | None = None,
        *,
        on: str | None = None,
        raw: bytes | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` authorised media requests with a Graph error (`raw`
        replaces its body); `on`: only "metadata" or only "bytes" requests (None: either)."""
        if code is None:
            code = _DEFAULT_CODES.get(status, 1 if status >= 500 else 100)
        body = raw if raw is not None else _json(graph_error(code, "Media error"))
        for _ in range(times):
            self._planned_media.append((on, PlannedResponse(status, body)))

    def reset(self) -> None:
        """Forget recorded requests and planned responses (the wamid counter goes on, and
        the media stay)."""
        self.requests.clear()
        self._planned.clear()
        self.media_requests.clear()
        self._planned_media.clear()

    # -- inspection --------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """How many planned responses are still unused."""
        return len(self._planned)

    def accepted(self) -> list[RecordedRequest]:
        """The requests answered with success, in order."""
        return [r for r in self.requests if r.accepted]

    def sent_texts(self) -> list[str | None]:
        """The text of every accepted message, in order (None for e.g. a mark-as-read)."""
        return [r.text for r in self.accepted()]

    # -- the endpoint ------------------------------------------------------------------

    async def _messages(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        status, payload, headers, wamid = self._answer(request, body)
        record = RecordedRequest(
            path=request.path,
            version=request.match_info["version"],
            phone_number_id=request.match_info["phone_number_id"],
            headers=CIMultiDict(request.headers),
            body=body,
            status=status,
            wamid=wamid,
        )
        self.requests.append(record)
        if record.accepted and self.on_accepted is not None:
            self.on_accepted(record)
        if self.latency is not None:
            await asyncio.sleep(self.latency())
        return web.Response(
            status=status, body=payload, headers=headers, content_type="application/json"
        )

    def _answer(
        self, request: web.Request, body: Any
    ) -> tuple[int, bytes, dict[str, str], str | None]:
        """Status, body, headers and wamid for one request (checks first, then the plan)."""
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            error = graph_error(
                190,
                "Invalid OAuth access token - Cannot parse access token",
                "The access token could not be decrypted",
            )
            return 401, _json(error), {}, None
        number = request.match_info["phone_number_id"]
        if self.phone_number_id is not None and number != self.phone_number_id:
            error = graph_error(100, "Unsupported post request", f"Object {number} not found")
            return 400, _json(error), {}, None
        problem = _problem(body) if self.strict else None
        if problem is not None:
            error = graph_error(131009, "Parameter value is not valid", problem)
            return 400, _json(error), {}, None
        if self._planned:
            planned = self._planned.popleft()
            return planned.status, planned.body, planned.headers, None
        if body.get("status") == "read":
            return 200, _json({"success": True}), {}, None
        self._accepted += 1
        wamid = f"wamid.FAKE_{self._accepted}"
        to = str(body.get("to", ""))
        return (
            200,
            _json(
                {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": to, "wa_id": to.removeprefix("+")}],
                    "messages": [{"id": wamid}],
                }
            ),
            {},
            wamid,
        )

    # -- media -----------------------------------------------------------------------------

    async def _media_metadata(self, request: web.Request) -> web.Response:
        refused = self._media_refusal("metadata", request)
        if refused is not None:
            return self._media_response("metadata", request, *refused, "application/json")
        media_id = request.match_info["media_id"]
        data, mime_type = self.media[media_id]
        url = request.url.with_path(f"/media-bytes/{media_id}").with_query(
            {"ext": "1788001800", "hash": "ATfake"}
        )
        body = {
            "messaging_product": "whatsapp",
            "url": str(url),
            "mime_type": mime_type,
            "sha256": hashlib.sha256(data).hexdigest(),
            "file_size": len(data),
            "id": media_id,
        }
        return self._media_response("metadata", request, 200, _json(body), "application/json")

    async def _media_bytes(self, request: web.Request) -> web.Response:
        refused = self._media_refusal("bytes", request)
        if refused is not None:
            return self._media_response("bytes", request, *refused, "application/json")
        data, mime_type = self.media[request.match_info["media_id"]]
        return self._media_response("bytes", request, 200, data, mime_type)

    def _media_refusal(self, kind: str, request: web.Request) -> tuple[int, bytes] | None:
        """The status and body refusing a media request, or None to serve it."""
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            error = graph_error(190, "Invalid OAuth access token - Cannot parse access token")
            return 401, _json(error)
        if self._planned_media and self._planned_media[0][0] in (None, kind):
            planned = self._planned_media.popleft()[1]
            return planned.status, planned.body
        media_id = request.match_info["media_id"]
        if media_id not in self.media:
            error = graph_error(100, "Unsupported get request", f"Object {media_id} not found")
            return 400, _json(error)
        return None

    def _media_response(
        self, kind: str, request: web.Request, status: int, body: bytes, content_type: str
    ) -> web.Response:
        media_id = request.match_info["media_id"]
        headers = CIMultiDict(request.headers)
        self.media_requests.append(MediaRequest(kind, media_id, headers, status))
        return web.Response(status=status, body=body, headers={"Content-Type": content_type})


def _problem(body: Any) -> str | None:
    """What breaks PROTOCOL.md 2.1 in a request body, or None."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    if body.get("messaging_product") != "whatsapp":
        return "messaging_product must be whatsapp"
    if body.get("status") == "read":
        return None if isinstance(body.get("message_id"), str) else "message_id is required"
    if not isinstance(body.get("to"), str) or not body["to"]:
        return "to is required"
    kind = body.get("type")
    part = body.get(kind) if isinstance(kind, str) else None
    if not isinstance(part, dict):
        return f"the {kind!r} object is missing"
    if kind == "text":
        text = part.get("body")
        return None if isinstance(text, str) and 0 < len(text) <= 4096 else "bad text.body"
    if kind == "interactive":
        try:
            return _interactive_problem(part)
        except (KeyError, TypeError, AttributeError) as exc:
            return f"malformed interactive object: {exc!r}"
    return None


def _interactive_problem(part: dict[str, Any]) -> str | None:
    text = (part.get("body") or {}).get("text")
    action = part.get("action") or {}
    if part.get("type") == "button":
        buttons = action.get("buttons") or []
        titles = [b["reply"]["title"] for b in buttons]
        if not 1 <= len(buttons) <= 3:
            return "1 to 3 buttons"
        if any(len(t) > 20 for t in titles) or len(set(titles)) != len(titles):
            return "button titles: at most 20 characters, unique"
        return None if isinstance(text, str) and 0 < len(text) <= 1024 else "bad body.text"
    if part.get("type") == "list":
        rows = [row for section in action.get("sections") or [] for row in section["rows"]]
        if not 1 <= len(rows) <= 10:
            return "1 to 10 rows in all"
        if any(len(row["title"]) > 24 for row in rows):
            return "row titles: at most 24 characters"
        if not 0 < len(action.get("button") or "") <= 20:
            return "action.button: 1 to 20 characters"
        return None if isinstance(text, str) and 0 < len(text) <= 4096 else "bad body.text"
    return "interactive.type must be button or list"


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
