"""Hostile input gets a 4xx in the API's error shape, logged once as a warning without a
traceback, and never a 500: deep JSON, corrupt compressed bodies, non-ASCII signatures and
tokens, dates at the end of time, NUL characters, digits that are not ASCII, and what
aiohttp's own HTTP parser refuses (which must not log the offending header)."""

from __future__ import annotations

import asyncio
import json
import socket
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from gateway.app import create_app
from gateway.server import bind, start
from gateway.signature import sign
from tests.sim import ADMIN_TOKEN, APP_SECRET, ENVIRON, Sim, cloud_text, settings_for

PHONE = "447700900123"
DEEP = b"[" * 1000 + b"]" * 1000
DEEP_CLOUD = b'{"object": "whatsapp_business_account", "entry": [], "extra": ' + DEEP + b"}"
DEEP_WATI = b'{"eventType": "message", "waId": "447700900123", "data": ' + DEEP + b"}"


async def raw_request(host: str, port: int, head: bytes, body: bytes = b"") -> tuple[int, Any]:
    """Send bytes as they are (no client library cleans them up); the status and JSON body."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(head + b"\r\n\r\n" + body)
    await writer.drain()
    data = await reader.read()
    writer.close()
    await writer.wait_closed()
    status_line, _, rest = data.partition(b"\r\n")
    status = int(status_line.split()[1])
    _, _, payload = rest.partition(b"\r\n\r\n")
    if b"chunked" in rest.partition(b"\r\n\r\n")[0].lower():
        size, _, chunk = payload.partition(b"\r\n")
        payload = chunk[: int(size, 16)]
    return status, json.loads(payload) if payload.strip() else None


def refusals(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in logs if e["log_level"] in ("warning", "error")]


def assert_error_shape(body: Any, code: str | None = None, field: str | None = None) -> None:
    assert set(body) == {"error"} or "error" in body, body
    error = body["error"]
    assert set(error) == {"code", "message", "field"}
    if code is not None:
        assert error["code"] == code, error
    if field is not None:
        assert error["field"] == field, error


@pytest.mark.parametrize(
    ("path", "raw", "signed"),
    [
        ("/webhooks/whatsapp", DEEP_CLOUD, True),
        ("/webhooks/whatsapp", DEEP, True),
        ("/webhooks/wati", DEEP_WATI, False),
        ("/webhooks/wati", DEEP, False),
        ("/api/operators", DEEP_WATI, False),
    ],
    ids=["cloud-field", "cloud-top", "wati-data", "wati-top", "api-body"],
)
async def test_deeply_nested_json_is_400(sim: Sim, path: str, raw: bytes, signed: bool) -> None:
    """JSON nested 1000 levels deep, anywhere in the body: 400, one warning, no traceback."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {ADMIN_TOKEN}"}
    if signed:
        headers["X-Hub-Signature-256"] = sign(raw, APP_SECRET)
    with structlog.testing.capture_logs() as logs:
        response = await sim.client.post(path, data=raw, headers=headers)
    assert response.status == 400
    assert_error_shape(await response.json())
    [warning] = refusals(logs)
    assert warning["log_level"] == "warning" and "exc_info" not in warning


async def test_deep_json_inside_one_message_of_a_batch_is_400_not_500(sim: Sim) -> None:
    """Meta would never send it; what matters is that it is refused cleanly."""
    body = cloud_text(PHONE, "hi", wamid="wamid.OK", ts=sim.ts())
    raw = (
        json.dumps(body)
        .encode()
        .replace(
            b'"messages": [', b'"messages": [{"id": "x", "timestamp": "1", "deep": ' + DEEP + b"}, "
        )
    )
    await sim.post_cloud(raw, expect=400)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
@pytest.mark.parametrize(
    ("method", "path", "token"),
    [
        ("POST", "/webhooks/whatsapp", None),
        ("POST", "/webhooks/wati", None),
        ("POST", "/api/operators", ADMIN_TOKEN),
    ],
)
async def test_a_corrupt_compressed_body_is_400(
    sim: Sim, encoding: str, method: str, path: str, token: str | None
) -> None:
    """Before any signature check, so without credentials too."""
    headers = {"Content-Encoding": encoding, "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = await sim.client.request(
        method, path, data=b"this is not compressed", headers=headers
    )
    assert response.status == 400
    assert_error_shape(await response.json(), "invalid_body", "Content-Encoding")


async def test_a_correctly_compressed_webhook_is_fine(sim: Sim) -> None:
    raw = json.dumps(cloud_text(PHONE, "hi", wamid="wamid.GZ", ts=sim.ts())).encode()
    response = await sim.client.post(
        "/webhooks/whatsapp",
        data=zlib.compress(raw),
        headers={"Content-Encoding": "deflate", "X-Hub-Signature-256": sign(raw, APP_SECRET)},
    )
    assert response.status == 200


async def test_a_non_ascii_signature_is_401(sim: Sim) -> None:
    raw = json.dumps(cloud_text(PHONE, "hi", wamid="wamid.S", ts=sim.ts())).encode()
    server = sim.client.server
    head = (
        b"POST /webhooks/whatsapp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"X-Hub-Signature-256: sha256=\xc3\xa9\xff" + b"a" * 60 + b"\r\n"
        b"Content-Length: " + str(len(raw)).encode() + b"\r\nConnection: close"
    )
    status, body = await raw_request(server.host, server.port, head, raw)
    assert status == 401
    assert_error_shape(body, "invalid_signature")


@pytest.mark.parametrize(
    ("path", "header"),
    [
        (b"/api/conversations", b"Authorization: Bearer \xff\xfe" + ADMIN_TOKEN.encode()),
        (b"/api/conversations", b"Authorization: Bearer tok\xc3\x28en"),
        (b"/webhooks/wati", b"X-Webhook-Token: \xff\xfe\xfd"),
    ],
    ids=["bearer-not-utf8", "bearer-bad-sequence", "wati-token-not-utf8"],
)
async def test_invalid_utf8_in_a_token_header_is_401(
    make_sim: Any, path: bytes, header: bytes
) -> None:
    sim = await make_sim(environ={**ENVIRON, "WATI_WEBHOOK_TOKEN": "wati-secret"})
    server = sim.client.server
    method = b"POST" if path.startswith(b"/webhooks") else b"GET"
    head = (
        method + b" " + path + b" HTTP/1.1\r\nHost: x\r\n" + header
        + b"\r\nContent-Length: 2\r\nConnection: close"
    )  # fmt: skip
    status, body = await raw_request(server.host, server.port, head, b"{}")
    assert status == 401
    assert_error_shape(body)


@pytest.mark.parametrize(
    "query",
    [
        "end_date=9999-12-31",
        "start_date=0001-01-01&end_date=9999-12-31",
        "start_date=9999-12-31",
    ],
)
async def test_dates_at_the_ends_of_time_are_fine(sim: Sim, query: str) -> None:
    found = await sim.api("GET", f"/api/agent/sessions/history?{query}")
    assert found["total"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("/api/agent/sessions/history?search=%00", "search"),
        ("/api/agent/sessions/history?search=ab%00cd", "search"),
        ("/api/conversations?phone=44%00", "phone"),
        ("/api/agent/sessions/history?limit=%D9%A3", "limit"),
        ("/api/agent/sessions/history?limit=1_0", "limit"),
        ("/api/agent/sessions/history?offset=%EF%BC%91", "offset"),
        ("/api/conversations?limit=+5", "limit"),
        ("/api/monitor/stuck?hours=-1", "hours"),
    ],
)
async def test_bad_query_text_is_400(sim: Sim, query: str, field: str) -> None:
    """NUL in a query is refused (a search for it would match everything); numbers are
    ASCII digits only (`٣`, `1_0` and a full-width one are not)."""
    body = await sim.api("GET", query, expect=400)
    assert_error_shape(body, field=field)


async def test_a_nul_search_no_longer_matches_every_session(sim: Sim) -> None:
    await sim.customer_taps(PHONE, "AGENT_MODE", "Talk to Expert")
    assert (await sim.api("GET", "/api/agent/sessions/history"))["total"] == 1
    await sim.api("GET", "/api/agent/sessions/history?search=%00", expect=400)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/operators", {"name": "No\u0000a", "email": "n@x.example"}, "name"),
        ("/api/operators", {"name": "Noa", "email": "n@x.example\u0000"}, "email"),
    ],
)
async def test_text_fields_holding_nul_are_400(
    sim: Sim, path: str, body: dict[str, Any], field: str
) -> None:
    refused = await sim.api("POST", path, body=body, expect=400)
    assert_error_shape(refused, "invalid_body", field)


async def test_a_nul_in_an_agents_reply_is_400(sim: Sim) -> None:
    await sim.customer_taps(PHONE, "AGENT_MODE", "Talk to Expert")
    session = (await sim.conversation(PHONE))["session"]
    refused = await sim.api(
        "POST",
        f"/api/agent/sessions/{session['id']}/messages",
        body={"text": "hi\u0000there"},
        expect=400,
    )
    assert_error_shape(refused, "invalid_body", "text")


# --- what aiohttp's HTTP parser refuses, served as `run.py` serves ------------------------


@pytest.fixture
async def served(db_path: Path, frozen: Any) -> AsyncIterator[tuple[str, int]]:
    """The gateway on a real socket, with the runner `run.py` uses."""
    sock = bind("127.0.0.1", 0)
    host, port = sock.getsockname()[:2]
    app = create_app(settings_for(db_path), environ=ENVIRON)
    runner = await start(app, sock)
    try:
        yield host, port
    finally:
        await runner.cleanup()


async def test_a_url_over_8kb_is_a_json_400(served: tuple[str, int]) -> None:
    host, port = served
    with structlog.testing.capture_logs() as logs:
        status, body = await raw_request(
            host, port, b"GET /api/" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close"
        )
    assert status == 400
    assert_error_shape(body, "line_too_long")
    [warning] = refusals(logs)
    assert warning["event"] == "bad_http_request" and "exc_info" not in warning
    assert "aaaa" not in json.dumps(warning)


async def test_a_bad_header_byte_is_a_json_400_and_the_header_is_never_logged(
    served: tuple[str, int],
) -> None:
    """A bearer token with a control byte in it: refused, and never written to the log."""
    host, port = served
    secret = b"s3cr3t-bearer-token"
    with structlog.testing.capture_logs() as logs:
        status, body = await raw_request(
            host,
            port,
            b"GET /api/conversations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + secret
            + b"\x01x\r\nConnection: close",
        )  # fmt: skip
    assert status == 400
    assert_error_shape(body)
    assert refusals(logs), "logged"
    assert secret.decode() not in json.dumps(logs)


async def test_an_unsupported_encoding_is_a_json_400(served: tuple[str, int]) -> None:
    host, port = served
    status, body = await raw_request(
        host,
        port,
        b"POST /webhooks/wati HTTP/1.1\r\nHost: x\r\nContent-Encoding: zstd\r\n"
        b"Content-Length: 2\r\nConnection: close",
        b"{}",
    )
    assert status == 400
    assert_error_shape(body)


def test_bind_refuses_a_port_in_use() -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        with pytest.raises(OSError, match="in use"):
            bind("127.0.0.1", taken.getsockname()[1])
    finally:
        taken.close()
