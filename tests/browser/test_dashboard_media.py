"""Images and documents in the dashboard: fetched through the gateway's media route from a
fake Graph API (served from a thread: Playwright owns this thread's event loop), with the
access token, and shown inline or offered for download."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from playwright.sync_api import Page, expect

from tests.browser.gateway_process import GatewayProcess, free_port
from tests.browser.test_dashboard import DANA, accepted_chat, bubbles
from tests.fake_graph import FakeGraph
from tests.sim import cloud_envelope

TOKEN = "graph-token"
# A 2x2 red PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg=="
)


class GraphThread:
    """The fake Graph API on 127.0.0.1, in a thread with its own loop."""

    def __init__(self) -> None:
        self.fake = FakeGraph(access_token=TOKEN, strict=False)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.runner: web.AppRunner | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.runner = web.AppRunner(self.fake.app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", self.port)
        self.loop.run_until_complete(site.start())
        self.started.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runner.cleanup())
        self.loop.close()

    def start(self) -> GraphThread:
        self.thread.start()
        assert self.started.wait(10), "the fake Graph API did not start"
        return self

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v21.0"


@pytest.fixture
def graph() -> Iterator[GraphThread]:
    server = GraphThread().start()
    yield server
    server.stop()


@pytest.fixture
def media_gateway(start_gateway: Any, graph: GraphThread) -> GatewayProcess:
    gateway: GatewayProcess = start_gateway(
        f'[whatsapp]\ngraph_api_base = "{graph.base}"\n', {"WHATSAPP_TOKEN": TOKEN}
    )
    return gateway


def sends(gateway: GatewayProcess, kind: str, part: dict[str, Any]) -> None:
    wamid, ts = gateway.message_stamp()
    message = {"from": DANA, "id": wamid, "timestamp": str(ts), "type": kind, kind: part}
    contacts = [{"profile": {"name": "Dana Levi"}, "wa_id": DANA}]
    gateway.post_cloud(cloud_envelope("310000000000002", contacts, [message]))


def test_an_image_is_shown_through_the_media_route(
    media_gateway: GatewayProcess, graph: GraphThread, page: Page
) -> None:
    graph.fake.add_media("media.img.1", PNG, "image/png")
    noa = media_gateway.create_operator("Noa")
    accepted_chat(page, media_gateway, noa)
    sends(media_gateway, "image", {"id": "media.img.1", "mime_type": "image/png",
                                    "sha256": "x", "caption": "the broken part"})  # fmt: skip
    image = bubbles(page, "customer").last.locator("img.media")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") == 2
    assert image.get_attribute("src", timeout=1000).startswith("blob:")  # type: ignore[union-attr]
    expect(bubbles(page, "customer").last).to_contain_text("the broken part")
    kinds = [r.kind for r in graph.fake.media_requests]
    assert kinds == ["metadata", "bytes"]
    assert {r.headers["Authorization"] for r in graph.fake.media_requests} == {f"Bearer {TOKEN}"}


def test_a_document_is_downloaded(
    media_gateway: GatewayProcess, graph: GraphThread, page: Page
) -> None:
    graph.fake.add_media("media.doc.1", b"%PDF-1.4 invoice", "application/pdf")
    noa = media_gateway.create_operator("Noa")
    accepted_chat(page, media_gateway, noa)
    sends(media_gateway, "document", {"id": "media.doc.1", "mime_type": "application/pdf",
                                       "sha256": "x", "filename": "invoice.pdf"})  # fmt: skip
    button = page.get_by_role("button", name="Download invoice.pdf")
    with page.expect_download() as info:
        button.click()
    download = info.value
    assert download.suggested_filename == "invoice.pdf"
    path = download.path()
    assert path is not None and path.read_bytes() == b"%PDF-1.4 invoice"


def test_media_the_provider_lost_says_so(
    media_gateway: GatewayProcess, graph: GraphThread, page: Page
) -> None:
    noa = media_gateway.create_operator("Noa")
    accepted_chat(page, media_gateway, noa)
    sends(media_gateway, "image", {"id": "media.gone", "mime_type": "image/jpeg", "sha256": "x"})
    expect(bubbles(page, "customer").last).to_contain_text("image not available")
