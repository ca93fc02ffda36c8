"""The Cloud API outbound provider against the fake Graph server, and its pure helpers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from actors.outbox.outbound import Choice, OutboundMessage, SendResult
from gateway.providers.cloud import CloudProvider, classify
from gateway.providers.graph_body import graph_body, recipient
from tests.fake_graph import FakeGraph, graph_error

PHONE_NUMBER_ID = "310000000000002"
TOKEN = "tok"
MakeServer = Callable[[web.Application], Awaitable[TestServer]]


def message(to: str = "447700900123", text: str = "Hi Dana", **kw: Any) -> OutboundMessage:
    return OutboundMessage(business_id=PHONE_NUMBER_ID, to=to, text=text, outbox_id=7, **kw)


def choices(n: int, title: str = "Choice number {i} which is long") -> tuple[Choice, ...]:
    return tuple(Choice(f"c{i}", title.format(i=i), f"about {i}") for i in range(1, n + 1))


def error_bytes(code: int, **extra: Any) -> bytes:
    return json.dumps(graph_error(code, **extra)).encode()


@pytest.fixture
def graph() -> FakeGraph:
    return FakeGraph(access_token=TOKEN, phone_number_id=PHONE_NUMBER_ID)


@pytest.fixture
async def server(graph: FakeGraph, aiohttp_server: MakeServer) -> TestServer:
    return await aiohttp_server(graph.app)


@pytest.fixture
async def provider(server: TestServer) -> AsyncIterator[CloudProvider]:
    cloud = CloudProvider(
        base_url=str(server.make_url("/v21.0")), phone_number_id=PHONE_NUMBER_ID, access_token=TOKEN
    )
    yield cloud
    await cloud.close()


# -- requests ----------------------------------------------------------------------------


async def test_text_send_body(provider: CloudProvider, graph: FakeGraph) -> None:
    """A text send posts the documented body, +E.164 `to` and the outbox callback data."""
    result = await provider.send(message(text="Hi Dana, your table is confirmed."))
    assert result.ok
    [request] = graph.requests
    assert request.path == f"/v21.0/{PHONE_NUMBER_ID}/messages"
    assert request.version == "v21.0"
    assert request.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+447700900123",
        "biz_opaque_callback_data": "outbox:7",
        "type": "text",
        "text": {"preview_url": False, "body": "Hi Dana, your table is confirmed."},
    }
    assert graph.sent_texts() == ["Hi Dana, your table is confirmed."]


async def test_bsuid_recipient_gets_no_plus(provider: CloudProvider, graph: FakeGraph) -> None:
    """A business-scoped user id (`US.123`) is sent as it is, without a plus."""
    assert (await provider.send(message(to="US.123"))).ok
    assert graph.requests[0].body["to"] == "US.123"


async def test_plus_number_is_not_doubled(provider: CloudProvider, graph: FakeGraph) -> None:
    """A number that already has its plus keeps exactly one."""
    assert (await provider.send(message(to="+447700900123"))).ok
    assert graph.requests[0].body["to"] == "+447700900123"


async def test_authorization_header(provider: CloudProvider, graph: FakeGraph) -> None:
    """Every request carries `Authorization: Bearer <token>` and a JSON content type."""
    await provider.send(message())
    await provider.send(message())
    for request in graph.requests:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert request.headers["Content-Type"].startswith("application/json")


async def test_reply_buttons(provider: CloudProvider, graph: FakeGraph) -> None:
    """Up to 3 choices go as reply buttons, titles cut to 20 characters, header and footer."""
    send = message(
        text="Keep your booking?",
        kind="buttons",
        choices=choices(3),
        header="Booking",
        footer="Reply within 24h",
    )
    assert (await provider.send(send)).ok
    body = graph.requests[0].body
    assert body["type"] == "interactive"
    interactive = body["interactive"]
    assert interactive["type"] == "button"
    assert interactive["body"] == {"text": "Keep your booking?"}
    assert interactive["header"] == {"type": "text", "text": "Booking"}
    assert interactive["footer"] == {"text": "Reply within 24h"}
    assert interactive["action"]["buttons"] == [
        {"type": "reply", "reply": {"id": f"c{i}", "title": f"Choice number {i} whic"}}
        for i in (1, 2, 3)
    ]
    assert graph.sent_texts() == ["Keep your booking?"]


async def test_list(provider: CloudProvider, graph: FakeGraph) -> None:
    """4+ choices go as a list: one section of rows, row titles cut to 24 characters."""
    send = message(text="Pick a slot", kind="list", choices=choices(4), list_button="Show times")
    assert (await provider.send(send)).ok
    interactive = graph.requests[0].body["interactive"]
    assert interactive["type"] == "list"
    assert interactive["action"]["button"] == "Show times"
    [section] = interactive["action"]["sections"]
    assert section["rows"] == [
        {"id": f"c{i}", "title": f"Choice number {i} which is", "description": f"about {i}"}
        for i in (1, 2, 3, 4)
    ]


async def test_provider_message_id(provider: CloudProvider, graph: FakeGraph) -> None:
    """The wamid from the success response becomes the provider message id."""
    first = await provider.send(message())
    second = await provider.send(message())
    assert first == SendResult(ok=True, provider_message_id="wamid.FAKE_1")
    assert second.provider_message_id == "wamid.FAKE_2"
    assert [r.wamid for r in graph.accepted()] == ["wamid.FAKE_1", "wamid.FAKE_2"]


async def test_success_without_message_id(provider: CloudProvider, graph: FakeGraph) -> None:
    """A 2xx without a usable `messages[0].id` is still a success, with no id."""
    graph.respond_next(200, {"messaging_product": "whatsapp", "messages": [{}]})
    assert await provider.send(message()) == SendResult(ok=True)


# -- refusals over HTTP --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (400, 130429, True),  # throughput
        (400, 131056, True),  # pair rate
        (400, 131000, True),  # generic, transient
        (400, 131026, False),  # undeliverable
        (400, 131047, False),  # 24-hour window closed
        (400, 131009, False),  # unknown to the tables: a bug, don't retry
        (500, 1, True),  # 5xx
        (503, 2, True),
    ],
)
async def test_graph_errors_classified(
    provider: CloudProvider, graph: FakeGraph, status: int, code: int, retryable: bool
) -> None:
    """A Graph error is retryable or permanent by its code and status, with the code kept."""
    graph.fail_next(status=status, code=code, details="why it failed")
    result = await provider.send(message())
    assert not result.ok
    assert result.retryable is retryable
    assert result.error_code == code
    assert result.error_detail is not None
    assert f"(#{code})" in result.error_detail
    assert "why it failed" in result.error_detail


async def test_429_without_graph_body_is_retryable(
    provider: CloudProvider, graph: FakeGraph
) -> None:
    """A bare HTTP 429 (e.g. from a proxy) is retryable on its status alone."""
    graph.fail_next(status=429, raw=b"Too Many Requests")
    result = await provider.send(message())
    assert (result.ok, result.retryable, result.error_code) == (False, True, None)
    assert result.error_detail == "HTTP 429"


async def test_502_html_is_retryable(provider: CloudProvider, graph: FakeGraph) -> None:
    """A 5xx with an HTML page is retryable."""
    graph.fail_next(status=502, raw=b"<html>Bad Gateway</html>")
    result = await provider.send(message())
    assert (result.retryable, result.error_detail) == (True, "HTTP 502")


async def test_unknown_400_is_permanent(provider: CloudProvider, graph: FakeGraph) -> None:
    """An unknown 400 refusal is permanent."""
    graph.fail_next(status=400)
    result = await provider.send(message())
    assert (result.ok, result.retryable, result.error_code) == (False, False, 100)


async def test_wrong_token_is_permanent(server: TestServer, graph: FakeGraph) -> None:
    """A token the server rejects (401, code 190) is permanent, not retried."""
    cloud = CloudProvider(
        base_url=str(server.make_url("/v21.0")),
        phone_number_id=PHONE_NUMBER_ID,
        access_token="wrong",
    )
    try:
        result = await cloud.send(message())
    finally:
        await cloud.close()
    assert (result.ok, result.retryable, result.error_code) == (False, False, 190)
    assert graph.requests[0].status == 401
    assert graph.sent_texts() == []


async def test_failure_then_success(provider: CloudProvider, graph: FakeGraph) -> None:
    """Planned failures are used in order, then the fake accepts again."""
    graph.fail_next(status=429, times=2)
    assert [(await provider.send(message())).ok for _ in range(3)] == [False, False, True]
    assert [r.status for r in graph.requests] == [429, 429, 200]
    assert graph.sent_texts() == ["Hi Dana"]
    assert graph.pending == 0


async def test_retry_after_honoured(provider: CloudProvider, graph: FakeGraph) -> None:
    """A Retry-After header on a retryable refusal becomes `retry_after` in seconds."""
    graph.fail_next(status=429, retry_after=7)
    graph.fail_next(status=400, code=131056, retry_after="16")
    assert (await provider.send(message())).retry_after == 7.0
    assert (await provider.send(message())).retry_after == 16.0


async def test_retry_after_ignored_when_permanent(
    provider: CloudProvider, graph: FakeGraph
) -> None:
    """A permanent refusal carries no retry_after, even with the header."""
    graph.fail_next(status=400, code=131047, retry_after=30)
    result = await provider.send(message())
    assert (result.retryable, result.retry_after) == (False, None)


async def test_connection_refused_is_retryable(unused_tcp_port: int) -> None:
    """A connection refused (nothing listens) is retryable, with a network detail."""
    cloud = CloudProvider(
        base_url=f"http://127.0.0.1:{unused_tcp_port}/v21.0",
        phone_number_id=PHONE_NUMBER_ID,
        access_token=TOKEN,
    )
    try:
        result = await cloud.send(message())
    finally:
        await cloud.close()
    assert (result.ok, result.retryable, result.error_code) == (False, True, None)
    assert result.error_detail is not None
    assert result.error_detail.startswith("network: ")


async def test_close_closes_session(provider: CloudProvider) -> None:
    """`close()` closes the client session; a later send opens a new one; close is idempotent."""
    assert (await provider.send(message())).ok
    session = provider._session
    assert session is not None
    await provider.close()
    assert session.closed
    assert provider._session is None
    assert (await provider.send(message())).ok
    assert provider._session is not None
    assert provider._session is not session
    await provider.close()
    await provider.close()


async def test_close_before_any_send() -> None:
    """Closing a provider that never sent anything is a no-op."""
    cloud = CloudProvider(
        base_url="http://127.0.0.1:9/v21.0", phone_number_id=PHONE_NUMBER_ID, access_token=TOKEN
    )
    await cloud.close()
    assert cloud._session is None


# -- the fake itself -----------------------------------------------------------------------


async def test_fake_refuses_other_phone_number_id(server: TestServer, graph: FakeGraph) -> None:
    """The fake refuses a phone number id other than its own (400, code 100)."""
    cloud = CloudProvider(
        base_url=str(server.make_url("/v21.0")), phone_number_id="999", access_token=TOKEN
    )
    try:
        result = await cloud.send(message())
    finally:
        await cloud.close()
    assert (result.retryable, result.error_code) == (False, 100)


async def test_fake_reset(provider: CloudProvider, graph: FakeGraph) -> None:
    """`reset()` forgets requests and planned failures."""
    graph.fail_next(status=500)
    graph.fail_next(status=500)
    await provider.send(message())
    graph.reset()
    assert graph.requests == []
    assert graph.pending == 0
    assert (await provider.send(message())).ok


# -- classify() ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "raw", "retry_after", "expected"),
    [
        (429, b"", None, SendResult(ok=False, retryable=True, error_detail="HTTP 429")),
        (
            500,
            b"oops",
            "3",
            SendResult(ok=False, retryable=True, error_detail="HTTP 500", retry_after=3.0),
        ),
        (
            503,
            b"",
            "-5",
            SendResult(ok=False, retryable=True, error_detail="HTTP 503", retry_after=0.0),
        ),
        (503, b"", "soon", SendResult(ok=False, retryable=True, error_detail="HTTP 503")),
        (503, b"", "inf", SendResult(ok=False, retryable=True, error_detail="HTTP 503")),
        (503, b"", "nan", SendResult(ok=False, retryable=True, error_detail="HTTP 503")),
        (400, b"", None, SendResult(ok=False, retryable=False, error_detail="HTTP 400")),
        (404, b"[1, 2]", None, SendResult(ok=False, retryable=False, error_detail="HTTP 404")),
        (
            400,
            b'{"error": "flat"}',
            None,
            SendResult(ok=False, retryable=False, error_detail="HTTP 400"),
        ),
    ],
)
def test_classify_without_graph_code(
    status: int, raw: bytes, retry_after: str | None, expected: SendResult
) -> None:
    """Without a Graph code, the HTTP status decides; Retry-After is parsed defensively."""
    assert classify(status, raw, retry_after) == expected


@pytest.mark.parametrize(
    ("code", "retryable"),
    [
        (4, True),
        (80007, True),
        (130429, True),
        (131000, True),
        (131016, True),
        (131056, True),
        (131057, True),
        (131026, False),
        (131047, False),
        (190, False),
        (100, False),
        (131009, False),
        (131048, False),
        (131049, False),
        (131051, False),
        (132000, False),
    ],
)
def test_classify_by_code(code: int, retryable: bool) -> None:
    """A 400 with a Graph code: the code tables decide, and the code is kept."""
    result = classify(400, error_bytes(code), "9")
    assert (result.ok, result.retryable, result.error_code) == (False, retryable, code)
    assert result.retry_after == (9.0 if retryable else None)


@pytest.mark.parametrize("code", [131026, 131047])
@pytest.mark.parametrize("status", [429, 500, 503])
def test_permanent_code_beats_status(status: int, code: int) -> None:
    """131026 and 131047 stay permanent even with a 429 or 5xx status."""
    result = classify(status, error_bytes(code))
    assert (result.retryable, result.error_code) == (False, code)


def test_classify_detail_joins_message_and_details() -> None:
    """The detail is the Graph message followed by `error_data.details`."""
    result = classify(
        400,
        error_bytes(
            131047, message="Re-engagement message", details="More than 24 hours have passed."
        ),
    )
    assert result.error_detail == "(#131047) Re-engagement message More than 24 hours have passed."


@pytest.mark.parametrize(
    "error",
    [
        {"code": 131056, "message": "(#131056) Pair rate", "error_data": '{"blame": 1}'},
        {"code": 131056, "message": "(#131056) Pair rate", "error_data": None},
        {"code": 131056, "message": "(#131056) Pair rate", "error_data": {"details": 5}},
        {"code": "131056", "message": "(#131056) Pair rate"},
        {"code": 131056, "message": "(#131056) Pair rate", "is_transient": True, "extra": [1]},
    ],
)
def test_classify_tolerates_odd_error_fields(error: dict[str, Any]) -> None:
    """An odd `error_data` (a string, null) or a string code does not lose the code."""
    result = classify(400, json.dumps({"error": error}).encode())
    assert (result.retryable, result.error_code) == (True, 131056)
    assert result.error_detail == "(#131056) Pair rate"


def test_classify_ignores_boolean_code() -> None:
    """A JSON `true` is not the code 1."""
    result = classify(400, b'{"error": {"code": true}}')
    assert (result.retryable, result.error_code) == (False, None)


# -- graph_body() --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("to", "expected"),
    [
        ("447700900123", "+447700900123"),
        ("+447700900123", "+447700900123"),
        (" 966509491382 ", "+966509491382"),
        ("US.1349000000000000001", "US.1349000000000000001"),
        ("٩٦٦٥٠٩", "٩٦٦٥٠٩"),  # Arabic-Indic digits are not an E.164 number
        ("²", "²"),
    ],
)
def test_recipient(to: str, expected: str) -> None:
    """ASCII-digit numbers get a plus; BSUIDs and anything else go as they are."""
    assert recipient(to) == expected


def test_text_body_cut_to_4096() -> None:
    """A text body is cut to 4096 characters."""
    body = graph_body(message(text="x" * 5000))
    assert body["text"] == {"preview_url": False, "body": "x" * 4096}


@pytest.mark.parametrize("kind", ["buttons", "list"])
def test_choices_without_choices_is_text(kind: str) -> None:
    """A buttons or list message with no choices goes as plain text."""
    body = graph_body(message(kind=kind))
    assert (body["type"], body["text"]["body"]) == ("text", "Hi Dana")


@pytest.mark.parametrize(
    ("kind", "n", "wire_type", "body_limit"),
    [
        ("buttons", 1, "button", 1024),
        ("buttons", 3, "button", 1024),
        ("buttons", 4, "list", 4096),  # more than 3 cannot be buttons: a list, nothing dropped
        ("list", 2, "list", 4096),
        ("list", 10, "list", 4096),
    ],
)
def test_interactive_type_and_body_limit(
    kind: str, n: int, wire_type: str, body_limit: int
) -> None:
    """Buttons (<= 3) cut the body to 1024, lists to 4096; every choice is kept."""
    send = message(text="y" * 5000, kind=kind, choices=choices(n))
    interactive = graph_body(send)["interactive"]
    assert interactive["type"] == wire_type
    assert interactive["body"]["text"] == "y" * body_limit
    if wire_type == "button":
        ids = [b["reply"]["id"] for b in interactive["action"]["buttons"]]
    else:
        ids = [r["id"] for r in interactive["action"]["sections"][0]["rows"]]
    assert ids == [f"c{i}" for i in range(1, n + 1)]


def test_list_limits() -> None:
    """A list keeps at most 10 rows and cuts button, header, footer and descriptions."""
    send = message(
        kind="list",
        choices=tuple(Choice(f"r{i}", "t" * 30, "d" * 100) for i in range(12)),
        header="h" * 70,
        footer="f" * 70,
        list_button="b" * 30,
    )
    interactive = graph_body(send)["interactive"]
    rows = interactive["action"]["sections"][0]["rows"]
    assert len(rows) == 10
    assert rows[0] == {"id": "r0", "title": "t" * 24, "description": "d" * 72}
    assert interactive["action"]["button"] == "b" * 20
    assert interactive["header"] == {"type": "text", "text": "h" * 60}
    assert interactive["footer"] == {"text": "f" * 60}


def test_list_row_without_description() -> None:
    """A row without a description has no `description` key."""
    send = message(kind="list", choices=(Choice("a", "A"),) * 1 + (Choice("b", "B"),))
    rows = graph_body(send)["interactive"]["action"]["sections"][0]["rows"]
    assert rows == [{"id": "a", "title": "A"}, {"id": "b", "title": "B"}]


def test_no_header_or_footer_keys_when_unset() -> None:
    """Header and footer are left out when the message has none."""
    interactive = graph_body(message(kind="buttons", choices=choices(2)))["interactive"]
    assert "header" not in interactive
    assert "footer" not in interactive
