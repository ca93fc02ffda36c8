"""The HTTP analyzer against a fake OpenAI-compatible server: the request it makes, the
answers it believes, the ones it refuses (with a clear reason), and how it is chosen."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from structlog.testing import capture_logs

from actors.maintenance.analysis import Analysis, AnalysisError, AnalysisSettings
from actors.maintenance.offline import OfflineAnalyzer
from gateway.providers.llm import HttpAnalyzer, analyzer_from

KEY = "sk-test-secret"
MODEL = "tiny-model-1"
PATH = "/v1/chat/completions"
MakeServer = Callable[[web.Application], Awaitable[TestServer]]
GOOD = {"sentiment": "negative", "category": "complaint", "tags": ["delivery"], "summary": None}


def completion(content: str | None) -> dict[str, Any]:
    return {
        "id": "c1",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
    }


class FakeChat:
    """A chat-completions endpoint: answers what the test queued (else GOOD), records every
    request, and with `hang` set waits on `gate` (released at teardown) before answering."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], Any]] = []
        self.replies: deque[tuple[int, bytes]] = deque()
        self.hang = False
        self.gate = asyncio.Event()
        self.app = web.Application()
        self.app.router.add_post(PATH, self._handle)

    def answer(self, content: Any) -> None:
        """The next reply: a completion whose content is `content` (JSON-encoded unless a str)."""
        text = content if isinstance(content, str) else json.dumps(content)
        self.replies.append((200, json.dumps(completion(text)).encode()))

    def raw(self, body: bytes, status: int = 200) -> None:
        """The next reply, as it is."""
        self.replies.append((status, body))

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.json()))
        if self.hang:
            await self.gate.wait()
        default = (200, json.dumps(completion(json.dumps(GOOD))).encode())
        status, body = self.replies.popleft() if self.replies else default
        return web.Response(status=status, body=body, content_type="application/json")


@pytest.fixture
def chat() -> FakeChat:
    return FakeChat()


@pytest.fixture
async def server(chat: FakeChat, aiohttp_server: MakeServer) -> TestServer:
    return await aiohttp_server(chat.app)


@pytest.fixture
async def analyzer(server: TestServer, chat: FakeChat) -> AsyncIterator[HttpAnalyzer]:
    http = HttpAnalyzer(
        url=str(server.make_url(PATH)), model=MODEL, api_key=KEY, timeout_seconds=0.2
    )
    yield http
    chat.gate.set()  # before the server stops: a hanging handler would hold it up
    await http.close()


async def test_request_carries_model_texts_and_key(analyzer: HttpAnalyzer, chat: FakeChat) -> None:
    """The body names the model, asks for JSON at temperature 0, and carries the texts as a
    JSON document; the key goes in the Authorization header."""
    chat.answer({**GOOD, "summary": "The order is late."})
    await analyzer.summarize(["Olá, meu pedido?", "ما وصل الطلب"])
    [(headers, body)] = chat.requests
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert body["model"] == MODEL
    assert body["temperature"] == 0
    assert body["response_format"] == {"type": "json_object"}
    system, user = body["messages"]
    assert (system["role"], user["role"]) == ("system", "user")
    for allowed in ("positive", "mixed", "appointment", "complaint", "general"):
        assert allowed in system["content"]
    assert json.loads(user["content"]) == {"messages": ["Olá, meu pedido?", "ما وصل الطلب"]}


async def test_good_answer_is_parsed(analyzer: HttpAnalyzer, chat: FakeChat) -> None:
    """A valid answer becomes an Analysis; tags are trimmed, lowercased, deduplicated, sorted."""
    chat.answer(
        {"sentiment": "mixed", "category": "feedback", "tags": ["Refund", " delivery", "refund"]}
    )
    analysis = await analyzer.analyze("great food, late delivery")
    assert analysis == Analysis(
        sentiment="mixed", category="feedback", tags=["delivery", "refund"], analyzer="http"
    )
    assert json.loads(chat.requests[0][1]["messages"][1]["content"]) == {
        "message": "great food, late delivery"
    }


async def test_summary(analyzer: HttpAnalyzer, chat: FakeChat) -> None:
    """A conversation's analysis carries the model's summary; without one it is refused."""
    chat.answer({**GOOD, "summary": "  The customer's order has not arrived.  "})
    analysis = await analyzer.summarize(["where is my order?", "it never arrived"])
    assert analysis.summary == "The customer's order has not arrived."
    chat.answer(GOOD)
    with pytest.raises(AnalysisError, match="no summary"):
        await analyzer.summarize(["where is my order?"])


async def test_fenced_json_is_tolerated(analyzer: HttpAnalyzer, chat: FakeChat) -> None:
    """A JSON object inside a ``` fence (with or without a language) is still read."""
    chat.answer("```json\n" + json.dumps(GOOD) + "\n```")
    chat.answer("```" + json.dumps(GOOD) + "```")
    assert (await analyzer.analyze("x")).category == "complaint"
    assert (await analyzer.analyze("x")).tags == ["delivery"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (
            {**GOOD, "sentiment": "angry"},
            r"invalid: Invalid enum value 'angry' - at `\$.sentiment`",
        ),
        ({**GOOD, "category": "billing"}, r"Invalid enum value 'billing' - at `\$.category`"),
        ({"sentiment": "neutral", "tags": []}, "missing required field `category`"),
        ({**GOOD, "tags": [f"t{i}" for i in range(11)]}, r"length <= 10 - at `\$.tags`"),
        ({**GOOD, "tags": ["x" * 41]}, r"length <= 40 - at `\$.tags\[0\]`"),
        ({**GOOD, "tags": "delivery"}, r"Expected `array`, got `str` - at `\$.tags`"),
        ({**GOOD, "summary": "s" * 1001}, r"length <= 1000 - at `\$.summary`"),
        (["positive"], "Expected `object`, got `array`"),
        ("Sure! The sentiment is positive.", "not a JSON object"),
    ],
)
async def test_invalid_answers_are_refused(
    analyzer: HttpAnalyzer, chat: FakeChat, content: Any, reason: str
) -> None:
    """An answer outside the allowed values or limits, or not JSON, is an AnalysisError."""
    chat.answer(content)
    with pytest.raises(AnalysisError, match=reason):
        await analyzer.analyze("x")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>proxy error</html>", "not a chat completion"),
        (b'{"object": "chat.completion"}', "not a chat completion"),
        (b'{"choices": []}', "no message content"),
        (json.dumps(completion(None)).encode(), "no message content"),
    ],
)
async def test_not_a_completion_is_refused(
    analyzer: HttpAnalyzer, chat: FakeChat, body: bytes, reason: str
) -> None:
    """A 200 whose body is not a chat completion with content is an AnalysisError."""
    chat.raw(body)
    with pytest.raises(AnalysisError, match=reason):
        await analyzer.analyze("x")


@pytest.mark.parametrize("status", [401, 429, 500])
async def test_http_errors_name_the_status(
    analyzer: HttpAnalyzer, chat: FakeChat, status: int
) -> None:
    """A refused request names its status, never the key or the API's error body."""
    chat.raw(b'{"error": {"message": "Incorrect API key provided: sk-te***ret"}}', status)
    with pytest.raises(AnalysisError, match=f"HTTP {status}") as caught:
        await analyzer.analyze("x")
    assert KEY not in str(caught.value) and "sk-te" not in str(caught.value)


async def test_timeout(analyzer: HttpAnalyzer, chat: FakeChat) -> None:
    """A server slower than the timeout is an AnalysisError naming the timeout."""
    chat.hang = True
    with pytest.raises(AnalysisError, match=r"did not answer within 0.2 s"):
        await analyzer.analyze("x")


async def test_unreachable_server() -> None:
    """A server that cannot be reached is an AnalysisError too."""
    http = HttpAnalyzer(url="http://127.0.0.1:1/v1/chat/completions", model=MODEL, api_key=KEY)
    with pytest.raises(AnalysisError, match="could not be reached"):
        await http.analyze("x")
    await http.close()


async def test_logs_hold_no_key_and_no_text(analyzer: HttpAnalyzer, chat: FakeChat) -> None:
    """Nothing logged carries the API key or the message texts."""
    with capture_logs() as logs:
        await analyzer.analyze("my secret address is 12 Main St")
        chat.raw(b"{}", 500)
        with pytest.raises(AnalysisError):
            await analyzer.analyze("my secret address is 12 Main St")
    assert logs and all(e["log_level"] == "debug" for e in logs)
    flat = json.dumps(logs, default=str)
    assert KEY not in flat and "Main St" not in flat


async def test_session_factory_is_used_and_closed(server: TestServer) -> None:
    """A given session factory makes the session (on first use); close() closes it."""
    made: list[aiohttp.ClientSession] = []

    def factory() -> aiohttp.ClientSession:
        made.append(aiohttp.ClientSession())
        return made[-1]

    http = HttpAnalyzer(
        url=str(server.make_url(PATH)), model=MODEL, api_key=KEY, session_factory=factory
    )
    assert made == []
    await http.analyze("x")
    await http.analyze("y")
    assert len(made) == 1
    await http.close()
    assert made[0].closed


ENV = {
    "ANALYSIS_API_URL": "https://api.example.com/v1/chat/completions",
    "ANALYSIS_MODEL": MODEL,
    "ANALYSIS_API_KEY": KEY,
}


async def test_analyzer_from_settings() -> None:
    """Offline by default (even with the variables set); http when chosen and configured."""
    assert isinstance(analyzer_from(AnalysisSettings(), ENV), OfflineAnalyzer)
    http = analyzer_from(AnalysisSettings(analyzer="http"), ENV)
    assert isinstance(http, HttpAnalyzer) and http.name == "http"
    await http.close()
    renamed = AnalysisSettings(analyzer="http", http_key_env="LLM_KEY")
    other = analyzer_from(renamed, {**ENV, "LLM_KEY": "k2"})
    assert isinstance(other, HttpAnalyzer)
    await other.close()


@pytest.mark.parametrize(
    ("environ", "reason"),
    [
        ({}, "ANALYSIS_API_URL, ANALYSIS_MODEL, ANALYSIS_API_KEY"),
        ({**ENV, "ANALYSIS_API_KEY": ""}, "does not set ANALYSIS_API_KEY$"),
        ({k: v for k, v in ENV.items() if k != "ANALYSIS_MODEL"}, "does not set ANALYSIS_MODEL$"),
        ({**ENV, "ANALYSIS_API_URL": "api.example.com"}, "ANALYSIS_API_URL is not an http"),
    ],
)
def test_analyzer_from_names_what_is_missing(environ: dict[str, str], reason: str) -> None:
    """ "http" without its variables stops with the missing variable named."""
    with pytest.raises(AnalysisError, match=reason):
        analyzer_from(AnalysisSettings(analyzer="http"), environ)


def test_analyzer_from_refuses_an_unnamed_variable() -> None:
    """An empty variable name in the settings is named as the setting at fault."""
    with pytest.raises(AnalysisError, match=r"analysis\.http_model_env names no"):
        analyzer_from(AnalysisSettings(analyzer="http", http_model_env=""), ENV)
