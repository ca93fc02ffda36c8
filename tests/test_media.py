"""The media route: a customer's image or document, fetched with the provider's token, cached
in the data folder, and served to whoever may read the session."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestServer
from freezegun.api import FrozenDateTimeFactory
from structlog.testing import capture_logs

from gateway.app import create_app
from gateway.media import MediaStore, MediaUnavailable
from gateway.settings import Settings, WatiSettings, WhatsAppSettings
from storage.content import Image
from tests.fake_graph import FakeGraph
from tests.sim import (
    BUSINESS,
    ENVIRON,
    Operator,
    Sim,
    cloud_envelope,
    make_operator,
    session_of,
    settings_for,
    wati_message,
)

PHONE = "447700900123"
OTHER_PHONE = "447700900456"
TOKEN = "graph-token"
WATI_TOKEN = "wati-token"
JPEG = b"\xff\xd8\xff\xe0 a small jpeg \xff\xd9"
IMAGE_ID = "1299887766554433"
WITH_TOKEN = {**ENVIRON, "WHATSAPP_TOKEN": TOKEN}
Start = Callable[..., Awaitable[Sim]]
Server = Callable[..., Awaitable[TestServer]]


@pytest.fixture
async def graph(aiohttp_server: Server) -> tuple[FakeGraph, TestServer]:
    fake = FakeGraph(access_token=TOKEN)
    fake.add_media(IMAGE_ID, JPEG, "image/jpeg")
    return fake, await aiohttp_server(fake.app)


@pytest.fixture
def fake(graph: tuple[FakeGraph, TestServer]) -> FakeGraph:
    return graph[0]


def media_settings(db_path: Path, graph_base: str, wati_base: str = "") -> Settings:
    whatsapp = WhatsAppSettings(
        phone_number_id=BUSINESS, verify_token="verify-me", graph_api_base=graph_base
    )
    return settings_for(db_path, whatsapp=whatsapp, wati=WatiSettings(api_base=wati_base))


@pytest.fixture
def start(
    aiohttp_client: Any,
    frozen: FrozenDateTimeFactory,
    db_path: Path,
    graph: tuple[FakeGraph, TestServer],
) -> Start:
    """A gateway whose Graph base is the fake's."""

    async def make(environ: dict[str, str] = WITH_TOKEN, wati_base: str = "") -> Sim:
        base = str(graph[1].make_url("/v21.0"))
        app = create_app(media_settings(db_path, base, wati_base), environ=environ)
        return Sim(await aiohttp_client(app), frozen)

    return make


@pytest.fixture
async def sim(start: Start) -> Sim:
    return await start()


async def live_session(sim: Sim, phone: str = PHONE) -> tuple[Operator, dict[str, Any]]:
    """The customer asks for an agent and Noa takes the chat."""
    agent = await make_operator(sim, "Noa")
    await sim.customer_taps(phone, "AGENT_MODE", "Talk to Expert")
    await agent.next()
    session = await session_of(sim, phone)
    assert session["agent_id"] == agent.id
    return agent, session


async def customer_sends(sim: Sim, kind: str, part: dict[str, Any], phone: str = PHONE) -> str:
    """A Cloud API media message from the customer; the gateway's id for it."""
    wamid = sim.next_id()
    message = {"from": phone, "id": wamid, "timestamp": str(sim.ts()), "type": kind, kind: part}
    contacts = [{"profile": {"name": "Dana Levi"}, "wa_id": phone}]
    await sim.post_cloud(cloud_envelope(BUSINESS, contacts, [message]))
    return await message_id(sim, wamid, phone)


async def message_id(sim: Sim, provider_id: str, phone: str = PHONE) -> str:
    found = [m["id"] for m in await sim.messages(phone) if m["provider_message_id"] == provider_id]
    assert len(found) == 1, found
    return str(found[0])


async def send_image(sim: Sim, phone: str = PHONE) -> str:
    part = {"id": IMAGE_ID, "mime_type": "image/jpeg", "sha256": "abc=", "caption": "this one"}
    return await customer_sends(sim, "image", part, phone)


async def fetch(
    sim: Sim, token: str, session_id: str, message: str, query: str = ""
) -> ClientResponse:
    path = f"/api/agent/sessions/{session_id}/media/{message}{query}"
    response = await sim.client.get(path, headers={"Authorization": f"Bearer {token}"})
    await response.read()
    return response


async def error_of(response: ClientResponse, status: int) -> dict[str, Any]:
    assert response.status == status, await response.text()
    error: dict[str, Any] = (await response.json())["error"]
    return error


def cache_files(db_path: Path) -> list[str]:
    folder = db_path.parent / "media"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# -- the holding agent --------------------------------------------------------------------


async def test_holding_agent_sees_the_image_inline(sim: Sim, fake: FakeGraph) -> None:
    """The agent of the session gets the bytes, typed, inline, with the safety headers; both
    Graph requests carried the access token."""
    agent, session = await live_session(sim)
    image = await send_image(sim)
    response = await fetch(sim, agent.token, session["id"], image)
    assert response.status == 200
    assert await response.read() == JPEG
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["Content-Disposition"] == 'inline; filename="image.jpg"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "private, max-age=3600"
    assert response.headers["Content-Security-Policy"].startswith("sandbox")
    assert [(r.kind, r.media_id) for r in fake.media_requests] == [
        ("metadata", IMAGE_ID),
        ("bytes", IMAGE_ID),
    ]
    assert {r.headers["Authorization"] for r in fake.media_requests} == {f"Bearer {TOKEN}"}


async def test_second_fetch_comes_from_the_cache(sim: Sim, fake: FakeGraph, db_path: Path) -> None:
    """Fetched twice, the provider is asked once; the file and its sidecar are in the data
    folder's `media/`, named by a hash, with no temp file left."""
    agent, session = await live_session(sim)
    image = await send_image(sim)
    for _ in range(2):
        response = await fetch(sim, agent.token, session["id"], image)
        assert (response.status, await response.read()) == (200, JPEG)
    assert len(fake.media_requests) == 2  # one metadata, one bytes
    files = cache_files(db_path)
    assert len(files) == 2 and files[1] == files[0] + ".json"
    assert files[0].startswith("cloud-") and IMAGE_ID not in files[0]
    assert (db_path.parent / "media" / files[0]).read_bytes() == JPEG


async def test_agents_opening_it_at_once_cause_one_fetch(sim: Sim, fake: FakeGraph) -> None:
    """Two requests at the same time wait for one download."""
    agent, session = await live_session(sim)
    image = await send_image(sim)
    both = await asyncio.gather(*(fetch(sim, agent.token, session["id"], image) for _ in "ab"))
    assert [r.status for r in both] == [200, 200]
    assert len(fake.media_requests) == 2


async def test_download_asks_for_an_attachment(sim: Sim) -> None:
    """`?download=1` turns even an image into an attachment."""
    agent, session = await live_session(sim)
    image = await send_image(sim)
    response = await fetch(sim, agent.token, session["id"], image, "?download=1")
    assert response.status == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="image.jpg"'


async def test_html_document_is_never_inline(sim: Sim, fake: FakeGraph) -> None:
    """A document claiming text/html is an attachment under its (cleaned) name."""
    fake.add_media("1300000000000002", b"<script>alert(1)</script>", "text/html")
    agent, session = await live_session(sim)
    part = {"id": "1300000000000002", "mime_type": "text/html", "filename": '../x"invoice.html'}
    document = await customer_sends(sim, "document", part)
    response = await fetch(sim, agent.token, session["id"], document)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Content-Disposition"] == 'attachment; filename="x_invoice.html"'
    assert "sandbox" in response.headers["Content-Security-Policy"]


async def test_non_ascii_file_name(sim: Sim, fake: FakeGraph) -> None:
    """A name in Arabic gets an ASCII fallback and RFC 5987's `filename*`."""
    fake.add_media("1300000000000003", b"%PDF-1.7", "application/pdf")
    agent, session = await live_session(sim)
    part = {"id": "1300000000000003", "mime_type": "application/pdf", "filename": "جواز.pdf"}
    document = await customer_sends(sim, "document", part)
    response = await fetch(sim, agent.token, session["id"], document)
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"____.pdf\"; filename*=UTF-8''%D8%AC%D9%88%D8%A7%D8%B2.pdf"
    )


# -- who may read it ----------------------------------------------------------------------


async def test_agent_who_does_not_hold_the_session_is_refused(sim: Sim, fake: FakeGraph) -> None:
    """Another agent may not read an assigned session, nor its media: 403, nothing fetched."""
    _, session = await live_session(sim)
    image = await send_image(sim)
    other = await make_operator(sim, "Omar")
    error = await error_of(await fetch(sim, other.token, session["id"], image), 403)
    assert error["code"] == "forbidden"
    assert fake.media_requests == []


async def test_supervisor_reads_any_session(sim: Sim) -> None:
    """A supervisor sees every session, and so its media."""
    _, session = await live_session(sim)
    image = await send_image(sim)
    boss = await make_operator(sim, "Rita", role="supervisor")
    response = await fetch(sim, boss.token, session["id"], image)
    assert (response.status, await response.read()) == (200, JPEG)


async def test_no_token_is_401(sim: Sim) -> None:
    """The route needs a bearer token."""
    _, session = await live_session(sim)
    image = await send_image(sim)
    response = await sim.client.get(f"/api/agent/sessions/{session['id']}/media/{image}")
    assert (await error_of(response, 401))["code"] == "unauthorized"


async def test_message_of_another_conversation_is_404(sim: Sim, fake: FakeGraph) -> None:
    """A message is read through its own session only; an unknown id is 404 too."""
    agent, session = await live_session(sim)
    elsewhere = await send_image(sim, OTHER_PHONE)
    for message in (elsewhere, "no-such-message"):
        error = await error_of(await fetch(sim, agent.token, session["id"], message), 404)
        assert (error["code"], error["field"]) == ("not_found", "message_id")
    assert fake.media_requests == []


async def test_agent_who_handed_the_chat_over_is_refused_its_media(
    sim: Sim, fake: FakeGraph
) -> None:
    """Noa released the chat and Omar took it: the image the customer sends Omar is not
    Noa's to read, through that session (403) nor through an ended one of the same
    conversation that Noa handled (404: not that session's message)."""
    noa = await make_operator(sim, "Noa")
    omar = await make_operator(sim, "Omar")
    await sim.customer_taps(PHONE, "AGENT_MODE", "Talk to Expert")
    first = await noa.next()
    await noa.api("POST", f"/api/agent/sessions/{first['id']}/end", body={})
    await sim.customer_taps(PHONE, "AGENT_MODE", "Talk to Expert")
    second = await noa.next()
    await noa.api("POST", f"/api/agent/sessions/{second['id']}/release", body={})
    assert (await omar.next())["id"] == second["id"]
    image = await send_image(sim)
    error = await error_of(await fetch(sim, noa.token, second["id"], image), 403)
    assert error["code"] == "forbidden"
    error = await error_of(await fetch(sim, noa.token, first["id"], image), 404)
    assert (error["code"], error["field"]) == ("not_found", "message_id")
    assert fake.media_requests == []
    response = await fetch(sim, omar.token, second["id"], image)
    assert (response.status, await response.read()) == (200, JPEG)


async def test_media_sent_before_the_session_is_read_with_it(sim: Sim) -> None:
    """An image the customer sent the bot before asking for an agent is the session's
    context: its agent reads it."""
    image = await send_image(sim)
    agent, session = await live_session(sim)
    response = await fetch(sim, agent.token, session["id"], image)
    assert (response.status, await response.read()) == (200, JPEG)


async def test_unknown_session_is_404(sim: Sim) -> None:
    """No session, no media."""
    agent, _ = await live_session(sim)
    error = await error_of(await fetch(sim, agent.token, "no-such-session", "x"), 404)
    assert error["code"] == "not_found"


async def test_text_message_is_not_media(sim: Sim) -> None:
    """A text message has no media: 404 `not_media`."""
    agent, session = await live_session(sim)
    await sim.customer_says(PHONE, "my order is late")
    text = next(m["id"] for m in await sim.messages(PHONE) if m["text"] == "my order is late")
    error = await error_of(await fetch(sim, agent.token, session["id"], text), 404)
    assert error["code"] == "not_media"
    assert "text" in error["message"]


# -- the provider -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason"),
    [(404, "expired"), (400, "expired"), (401, "refused"), (500, "provider_error")],
)
async def test_provider_refusal_is_502(sim: Sim, fake: FakeGraph, status: int, reason: str) -> None:
    """Graph refusing the media is a 502 naming why; the refusal is not cached."""
    agent, session = await live_session(sim)
    image = await send_image(sim)
    fake.fail_next_media(status)
    error = await error_of(await fetch(sim, agent.token, session["id"], image), 502)
    assert error["code"] == "media_unavailable"
    assert error["message"].startswith(f"{reason}:")
    assert str(status) in error["message"]
    response = await fetch(sim, agent.token, session["id"], image)
    assert (response.status, await response.read()) == (200, JPEG)


async def test_media_graph_does_not_know_is_502(sim: Sim) -> None:
    """An id Graph does not have (expired after 7 days) is a 502 `expired`."""
    agent, session = await live_session(sim)
    part = {"id": "1300000000000099", "mime_type": "image/png"}
    gone = await customer_sends(sim, "image", part)
    error = await error_of(await fetch(sim, agent.token, session["id"], gone), 502)
    assert error["message"].startswith("expired:")


async def test_bytes_refused_after_the_metadata(sim: Sim, fake: FakeGraph, db_path: Path) -> None:
    """Graph names the URL, then the download is refused: 502, and nothing is cached."""
    agent, session = await live_session(sim)
    image = await send_image(sim)
    fake.fail_next_media(404, on="bytes")
    error = await error_of(await fetch(sim, agent.token, session["id"], image), 502)
    assert error["message"].startswith("expired:")
    assert [(r.kind, r.status) for r in fake.media_requests] == [("metadata", 200), ("bytes", 404)]
    assert cache_files(db_path) == []


async def test_graph_answer_without_a_url_is_502(sim: Sim, fake: FakeGraph) -> None:
    """A metadata answer that names no URL is `bad_answer`, and nothing more is asked."""
    agent, session = await live_session(sim)
    image = await send_image(sim)
    fake.fail_next_media(200, on="metadata", raw=b'{"id": "1299887766554433"}')
    error = await error_of(await fetch(sim, agent.token, session["id"], image), 502)
    assert error["message"].startswith("bad_answer:")
    assert len(fake.media_requests) == 1


async def test_no_access_token_is_503(start: Start, fake: FakeGraph) -> None:
    """A console gateway without WHATSAPP_TOKEN says media is not configured; no request."""
    sim = await start(environ=ENVIRON)
    agent, session = await live_session(sim)
    image = await send_image(sim)
    error = await error_of(await fetch(sim, agent.token, session["id"], image), 503)
    assert error["code"] == "media_not_configured"
    assert "access_token_env" in error["message"]
    assert fake.media_requests == []


async def test_media_message_without_a_reference_is_404(sim: Sim) -> None:
    """A media message naming neither id nor URL has nothing to fetch."""
    agent, session = await live_session(sim)
    empty = await customer_sends(sim, "image", {"mime_type": "image/jpeg"})
    error = await error_of(await fetch(sim, agent.token, session["id"], empty), 404)
    assert error["code"] == "media_missing"


def big_graph(size: str | None) -> web.Application:
    """A Graph that announces 20 bytes in `file_size`, or in Content-Length, or streams them
    chunked without announcing anything."""

    async def metadata(request: web.Request) -> web.Response:
        body: dict[str, Any] = {"url": str(request.url.with_path("/bytes")), "id": IMAGE_ID}
        if size == "file_size":
            body["file_size"] = 20
        return web.json_response(body)

    async def data(request: web.Request) -> web.StreamResponse:
        if size != "chunked":
            return web.Response(body=b"x" * 20, content_type="image/jpeg")
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(4):
            await response.write(b"x" * 5)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/bytes", data)
    app.router.add_get("/v21.0/{media_id}", metadata)
    return app


@pytest.mark.parametrize("size", ["file_size", "content_length", "chunked"])
async def test_too_large_is_refused_and_leaves_nothing(
    aiohttp_server: Server, tmp_path: Path, size: str
) -> None:
    """Past the size limit the fetch stops with `too_large` (announced or counted while
    streaming), and no file stays behind."""
    server = await aiohttp_server(big_graph(size))
    store = MediaStore(
        tmp_path / "media",
        graph_api_base=str(server.make_url("/v21.0")),
        access_token=TOKEN,
        max_bytes=8,
    )
    try:
        with pytest.raises(MediaUnavailable) as refused:
            await store.get(Image(media_id=IMAGE_ID))
    finally:
        await store.close()
    assert refused.value.reason == "too_large"
    assert not any((tmp_path / "media").glob("*"))


async def test_log_lines_name_the_media_never_the_token(sim: Sim) -> None:
    """One `media_fetched` line per fetch (cached or not); no token or URL in any line."""
    agent, session = await live_session(sim)
    image = await send_image(sim)
    with capture_logs() as logs:
        for _ in range(2):
            await fetch(sim, agent.token, session["id"], image)
    fetched = [e for e in logs if e["event"] == "media_fetched"]
    assert [(e["media"], e["bytes"], e["cached"]) for e in fetched] == [
        (IMAGE_ID, len(JPEG), False),
        (IMAGE_ID, len(JPEG), True),
    ]
    text = msgspec.json.encode(logs, enc_hook=str).decode()
    assert TOKEN not in text and "media-bytes" not in text


# -- WATI ---------------------------------------------------------------------------------


async def wati_media(sim: Sim, url: str) -> tuple[str, str]:
    """A WATI image message, and a session opened for that customer: (session, message)."""
    event = {**wati_message(PHONE, "a photo", event_id="wati.IMG1", ts=sim.ts()), "type": "image"}
    await sim.post_wati({**event, "data": url})
    started = await sim.api("POST", f"/api/agent/sessions/start/{PHONE}", expect=201)
    return started["id"], await message_id(sim, "wamid.wati.IMG1")


async def test_wati_url_on_a_foreign_host_is_refused(
    start: Start, fake: FakeGraph, graph: tuple[FakeGraph, TestServer]
) -> None:
    """A `data` URL on any host but [wati] api_base's gets no token and no request: 502."""
    sim = await start(
        environ={**WITH_TOKEN, "WATI_API_TOKEN": WATI_TOKEN},
        wati_base="https://live-mt-server.wati.io/123456",
    )
    elsewhere = str(graph[1].make_url(f"/media-bytes/{IMAGE_ID}"))
    session_id, message = await wati_media(sim, elsewhere)
    boss = await make_operator(sim, "Rita", role="supervisor")
    error = await error_of(await fetch(sim, boss.token, session_id, message), 502)
    assert error["message"].startswith("untrusted_host:")
    assert fake.media_requests == []


async def test_wati_url_on_its_host_is_fetched_with_the_wati_token(
    start: Start, aiohttp_server: Server
) -> None:
    """WATI's `showFile` URL is fetched with the WATI token, never the Graph one."""
    seen: list[str] = []

    async def show_file(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        if request.query.get("fileName") != "data/images/x.jpg":
            return web.Response(status=404)
        return web.Response(body=JPEG, content_type="image/jpeg")

    wati = web.Application()
    wati.router.add_get("/123456/api/file/showFile", show_file)
    server = await aiohttp_server(wati)
    sim = await start(
        environ={**WITH_TOKEN, "WATI_API_TOKEN": WATI_TOKEN},
        wati_base=str(server.make_url("/123456")),
    )
    url = str(server.make_url("/123456/api/file/showFile?fileName=data/images/x.jpg"))
    session_id, message = await wati_media(sim, url)
    boss = await make_operator(sim, "Rita", role="supervisor")
    response = await fetch(sim, boss.token, session_id, message)
    assert (response.status, await response.read()) == (200, JPEG)
    assert response.headers["Content-Type"] == "image/jpeg"
    assert seen == [f"Bearer {WATI_TOKEN}"]
