"""A fake WATI tenant for tests: the API routes the gateway uses, checked as WATI documents
them, and the echo WATI posts back to the webhook for every send.

Usage::

    wati = FakeWati(token="wati-token", tenant="123456")
    server = await aiohttp_server(wati.app)
    api_base = str(server.make_url("/123456"))          # the dashboard's "API Endpoint URL"
    wati.webhook = lambda event: sim.client.post("/webhooks/wati", json=event)
    wati.fail_next(status=429, headers={"Retry-After": "7"})
    wati.fail_next(result_false="Invalid Conversation")
    ...
    await wati.deliver_echoes()     # post the echoes of the sends so far, in order
    wati.sent_texts()               # what customers received, in order
    wati.add_history("966500000001", [item, ...])    # a chat's stored messages, oldest first
    wati.fail_history(429, times=2, retry_after="3") # the next history requests fail
    wati.hang_history(); ...; wati.release_history() # a history request that never answers
    wati.history_requests()         # the history requests so far, in order

Checks (a wrong request gets what WATI gives, so that a provider bug shows as a refusal):
the bearer token (401, no body); v1 session text has every field in the query and no body
(else `200 {"result": false, "info": "message text can not be empty"}`); the target is digits
with the country code, no `+` (else `200 {"result": false, "info": "Invalid Conversation"}`);
interactive bodies keep WATI's limits (1-3 buttons, titles up to 20; 1-10 rows, titles up to
24, descriptions up to 72); V3 routes are host-rooted (no tenant) and templates name their
parameters. With `echo_first`, the echo is posted before the answer (the race of an echo
that outruns WATI's response).

History (v1 `GET getMessages/{target}?pageSize=&pageNumber=`, WATI_API.md section 4): the
registered items are served in pages of `pageSize` (1-based `pageNumber`) inside
`{"result": "success", "messages": {"items": [...]}}` (only `messages.items` is reported by an
integrator; the rest of the envelope is unverified), newest first unless `history_order` is
"oldest_first" (WATI documents no order); an unknown chat has no items. A hanging request
waits on an asyncio.Event until `release_history()`, then answers as usual.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

Webhook = Callable[[dict[str, Any]], Awaitable[Any]]


@dataclass
class Planned:
    status: int = 200
    result_false: str | None = None
    recipient_errors: list[str] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class PlannedHistory:
    status: int = 200
    retry_after: str | None = None
    result_false: str | None = None
    hang: bool = False


@dataclass
class Request:
    route: str
    target: str | None
    query: dict[str, str]
    body: Any
    status: int
    text: str | None = None
    local_message_id: str | None = None


class FakeWati:
    def __init__(
        self,
        *,
        token: str = "wati-token",
        tenant: str = "123456",
        operator_email: str = "contracts@abar.app",
        operator_name: str = "API",
    ) -> None:
        self.token = token
        self.tenant = tenant
        self.operator_email = operator_email
        self.operator_name = operator_name
        self.requests: list[Request] = []
        self.planned: deque[Planned] = deque()
        self.echoes: list[dict[str, Any]] = []
        self.webhook: Webhook | None = None
        self.echo_first = False
        self.history: dict[str, list[dict[str, Any]]] = {}
        self.history_order: Literal["newest_first", "oldest_first"] = "newest_first"
        self.history_planned: deque[PlannedHistory] = deque()
        self.history_released = asyncio.Event()
        self._ids = itertools.count(1)
        self.app = web.Application()
        v1 = f"/{tenant}/api/v1"
        self.app.router.add_post(f"{v1}/sendSessionMessage/{{target}}", self._session_text)
        self.app.router.add_post(f"{v1}/sendInteractiveButtonsMessage", self._buttons)
        self.app.router.add_post(f"{v1}/sendInteractiveListMessage", self._list)
        self.app.router.add_post("/api/ext/v3/messageTemplates/send", self._template)
        self.app.router.add_get(f"{v1}/getMessages/{{target}}", self._history)

    def fail_next(
        self,
        status: int = 200,
        *,
        result_false: str | None = None,
        recipient_errors: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.planned.append(Planned(status, result_false, recipient_errors, headers or {}))

    def add_history(self, phone: str, items: list[dict[str, Any]]) -> None:
        """Messages of the chat with `phone`, oldest first (after any added before)."""
        self.history.setdefault(phone, []).extend(items)

    def fail_history(
        self,
        status: int = 200,
        *,
        times: int = 1,
        retry_after: str | None = None,
        result_false: str | None = None,
    ) -> None:
        """The next `times` history requests answer `status` (with Retry-After when given),
        or `200 {"result": false, "info": result_false}`."""
        for _ in range(times):
            self.history_planned.append(PlannedHistory(status, retry_after, result_false))

    def hang_history(self, times: int = 1) -> None:
        """The next `times` history requests wait until `release_history()`."""
        self.history_released.clear()
        self.history_planned.extend(PlannedHistory(hang=True) for _ in range(times))

    def release_history(self) -> None:
        self.history_released.set()

    def history_requests(self) -> list[Request]:
        return [r for r in self.requests if r.route == "history"]

    def sent_texts(self) -> list[str]:
        return [r.text or "" for r in self.requests if r.status == 200 and r.text is not None]

    def accepted(self) -> list[Request]:
        return [r for r in self.requests if r.status == 200 and r.text is not None]

    async def deliver_echoes(self) -> None:
        pending, self.echoes = self.echoes, []
        for event in pending:
            await self._post(event)

    async def _post(self, event: dict[str, Any]) -> None:
        assert self.webhook is not None, "set FakeWati.webhook to post echoes"
        response = await self.webhook(event)
        status = getattr(response, "status", 200)
        assert status == 200, f"the gateway refused an echo: {status}"

    # --- routes -------------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    async def _session_text(self, request: web.Request) -> web.StreamResponse:
        target = request.match_info["target"]
        query = dict(request.query)
        body = await request.read()
        text = query.get("messageText")
        if body.strip() or not text:
            return self._refuse(request, "session", target, query, "message text can not be empty")
        return await self._accept(request, "session", target, query, None, text, "text")

    async def _buttons(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        body = await request.json()
        buttons = body.get("buttons") or []
        ok = (
            isinstance(body.get("body"), str)
            and len(body["body"]) <= 1024
            and 1 <= len(buttons) <= 3
            and all(isinstance(b.get("text"), str) and len(b["text"]) <= 20 for b in buttons)
        )
        if not ok:
            return self._refuse(request, "buttons", query.get("whatsappNumber"), query,
                                "Invalid interactive message")  # fmt: skip
        return await self._accept(request, "buttons", query.get("whatsappNumber"), query, body,
                                  body["body"], "interactive")  # fmt: skip

    async def _list(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        body = await request.json()
        rows = [r for s in body.get("sections") or [] for r in s.get("rows") or []]
        ok = (
            isinstance(body.get("body"), str)
            and isinstance(body.get("buttonText"), str)
            and 1 <= len(rows) <= 10
            and all(len(r.get("title", "")) <= 24 for r in rows)
            and all(len(r.get("description") or "") <= 72 for r in rows)
        )
        if not ok:
            return self._refuse(request, "list", query.get("whatsappNumber"), query,
                                "Invalid list message")  # fmt: skip
        return await self._accept(request, "list", query.get("whatsappNumber"), query, body,
                                  body["body"], "interactive")  # fmt: skip

    async def _template(self, request: web.Request) -> web.StreamResponse:
        if not self._authorised(request):
            self.requests.append(Request("template", None, {}, None, 401))
            return web.Response(status=401)
        body = await request.json()
        recipients = body.get("recipients") or []
        named = all(
            isinstance(p.get("name"), str) and isinstance(p.get("value"), str)
            for r in recipients
            for p in r.get("custom_params") or []
        )
        if not (body.get("template_name") and body.get("broadcast_name") and recipients and named):
            self.requests.append(Request("template", None, {}, body, 400))
            return web.json_response({"code": 400, "message": "invalid request"}, status=400)
        [recipient] = recipients
        planned = self.planned.popleft() if self.planned else Planned()
        target, local = recipient["target"], recipient.get("local_message_id")
        self.requests.append(
            Request("template", target, {}, body, planned.status, body["template_name"], local)
        )
        if planned.status != 200:
            return web.json_response({"message": "failed"}, status=planned.status,
                                     headers=planned.headers)  # fmt: skip
        errors = planned.recipient_errors or []
        if not errors:
            self._echo("templateMessageSent_v2", target, body["template_name"], "template", local)
        return web.json_response(
            {"success": True, "broadcast_id": "b1", "error": None,
             "recipients": [{"local_message_id": local, "phone_number": target,
                             "errors": errors}]}
        )  # fmt: skip

    async def _history(self, request: web.Request) -> web.StreamResponse:
        target = request.match_info["target"]
        query = dict(request.query)
        if not self._authorised(request):
            self.requests.append(Request("history", target, query, None, 401))
            return web.Response(status=401)
        planned = self.history_planned.popleft() if self.history_planned else PlannedHistory()
        self.requests.append(Request("history", target, query, None, planned.status))
        if planned.hang:
            await self.history_released.wait()
        if planned.status != 200:
            headers = {"Retry-After": planned.retry_after} if planned.retry_after else {}
            return web.json_response({"message": "failed"}, status=planned.status,
                                     headers=headers)  # fmt: skip
        if planned.result_false is not None:
            return web.json_response({"result": False, "info": planned.result_false})
        if not target.isdigit():
            return web.json_response({"result": False, "info": "Invalid Conversation"})
        try:
            size = int(query.get("pageSize", "50"))
            number = int(query.get("pageNumber", "1"))
        except ValueError:
            return web.json_response({"code": 400, "message": "invalid paging"}, status=400)
        items = self.history.get(target, [])
        ordered = items[::-1] if self.history_order == "newest_first" else items
        page = ordered[(number - 1) * size : number * size] if size > 0 and number > 0 else []
        return web.json_response({"result": "success", "messages": {"items": page}})

    # --- answers ------------------------------------------------------------------------

    def _refuse(
        self,
        request: web.Request,
        route: str,
        target: str | None,
        query: dict[str, str],
        info: str,
    ) -> web.StreamResponse:
        if not self._authorised(request):
            self.requests.append(Request(route, target, query, None, 401))
            return web.Response(status=401)
        self.requests.append(Request(route, target, query, None, 200))
        return web.json_response({"result": False, "info": info})

    async def _accept(
        self,
        request: web.Request,
        route: str,
        target: str | None,
        query: dict[str, str],
        body: Any,
        text: str,
        kind: str,
    ) -> web.StreamResponse:
        if not self._authorised(request):
            self.requests.append(Request(route, target, query, body, 401))
            return web.Response(status=401)
        if not target or not target.isdigit():
            self.requests.append(Request(route, target, query, body, 200))
            return web.json_response({"result": False, "info": "Invalid Conversation"})
        planned = self.planned.popleft() if self.planned else Planned()
        if planned.status != 200:
            self.requests.append(Request(route, target, query, body, planned.status))
            return web.json_response({"message": "failed"}, status=planned.status,
                                     headers=planned.headers)  # fmt: skip
        if planned.result_false is not None:
            self.requests.append(Request(route, target, query, body, 200))
            return web.json_response({"result": False, "info": planned.result_false})
        local = query.get("localMessageId")
        self.requests.append(Request(route, target, query, body, 200, text, local))
        wamid = self._echo("sessionMessageSent_v2", target, text, kind, local)
        if self.echo_first:
            await self.deliver_echoes()
        return web.json_response(
            {"ok": True, "result": "success",
             "message": {"whatsappMessageId": wamid, "localMessageId": local,
                         "statusString": "SENT"}}
        )  # fmt: skip

    def _echo(self, event_type: str, target: str, text: str, kind: str, local: str | None) -> str:
        n = next(self._ids)
        wamid = f"wamid.WATI_{n}"
        self.echoes.append(
            {
                "eventType": event_type,
                "localMessageId": local,
                "id": f"66f1a1d3e4b0a1b2c3d4{n:04d}",
                "whatsappMessageId": wamid,
                "conversationId": "66f19f00e4b0a1b2c3d40001",
                "text": text,
                "type": kind,
                "data": None,
                "owner": True,
                "statusString": "SENT",
                "operatorEmail": self.operator_email,
                "operatorName": self.operator_name,
                "waId": target,
                "replyContextId": "",
            }
        )
        return wamid
