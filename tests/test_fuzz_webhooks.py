"""Fuzzing both webhook decoders through their HTTP handlers (hypothesis): whatever the body,
the answer is 200, 400, 401 or 413 in the API's shape, never a 500, and what is accepted is
processed without an error. Bodies are arbitrary JSON (and bytes), and mutations of valid
envelopes: values of the wrong type, fields missing, huge numbers, deep nesting, odd
unicode. Cloud bodies are signed, so that the decoder is reached; WATI's carry the token.

The examples run against one gateway per module, on an event loop of the fixture's own (the
hypothesis examples are synchronous), and each waits until the gateway is idle. The number
of examples and the seed come from the settings profile (tests/conftest.py)."""

from __future__ import annotations

import asyncio
import copy
import io
import json
import re
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import structlog
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import event, given
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from gateway.app import create_app
from gateway.context import GATEWAY
from gateway.settings import ServerSettings
from gateway.signature import sign
from tests.sim import APP_SECRET, ENVIRON, cloud_button, cloud_text, settings_for, wati_agent
from tests.sim import wati_message as sim_wati_message
from tests.test_cloud_events import (
    AUDIO_3_6,
    BUTTON_REPLY_3_2,
    DANA_BSUID,
    DELIVERED_3_13,
    DOCUMENT_3_7,
    FAILED_3_13,
    IMAGE_3_5,
    LIST_REPLY_3_3,
    LOCATION_3_8,
    REACTION_ADDED_3_10,
    SENT_3_13,
    STICKER_3_9,
    SYSTEM_3_12,
    TEMPLATE_BUTTON_3_4,
    TEXT_3_1,
    UNSUPPORTED_3_11,
    change,
    entry,
    envelope,
    value,
)
from tests.test_cloud_history import REALISTIC
from tests.test_message_types import CASES, WATI_BASE, message
from tests.test_wati_events import (
    AGENT_4_4,
    DELIVERED_4_4,
    FAILED_4_4,
    MESSAGE_4_4,
    SEED_000_AGENT,
    TEMPLATE_4_4,
)

T = TypeVar("T")
WATI_TOKEN = "wati-fuzz-token"
MAX_BODY = 64 * 1024
ALLOWED = {200, 400, 401, 413}
PHONE = "447700900123"
TS = 1795770000  # 2026-11-27: recent for the gateway's wall clock in late 2026, old after


# --- the gateway, on a loop of its own ----------------------------------------------------


class Gateway:
    """One running gateway; `post` runs a request to completion and waits for quiescence."""

    def __init__(self, loop: asyncio.AbstractEventLoop, client: TestClient) -> None:
        self.loop = loop
        self.client = client

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def post(self, path: str, raw: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        async def go() -> tuple[int, Any]:
            # (aiohttp warns of bytes over 1 MB as a body, and warnings are errors here)
            data = io.BytesIO(raw) if len(raw) > MAX_BODY else raw
            response = await self.client.post(path, data=data, headers=headers)
            body = await response.json() if response.content_type == "application/json" else None
            await self.client.app[GATEWAY].runtime.wait_idle()
            return response.status, body

        return self.run(go())


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    loop = asyncio.new_event_loop()
    db: Path = tmp_path_factory.mktemp("fuzz") / "gateway.db"
    settings = settings_for(db, server=ServerSettings(max_body_bytes=MAX_BODY))
    app = create_app(settings, environ={**ENVIRON, "WATI_WEBHOOK_TOKEN": WATI_TOKEN})

    async def start() -> TestClient:
        client = TestClient(TestServer(app))
        await client.start_server()
        return client

    client = loop.run_until_complete(start())
    try:
        yield Gateway(loop, client)
    finally:
        loop.run_until_complete(client.close())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def check(gateway: Gateway, path: str, raw: bytes, headers: dict[str, str]) -> None:
    """The answer is one of ALLOWED, in the error shape when not 200, and nothing the
    gateway did about the body (decoding, storing, stepping) logged an error."""
    with structlog.testing.capture_logs() as logs:
        status, body = gateway.post(path, raw, headers)
    if currently_in_test_context():
        event(f"HTTP {status}")  # --hypothesis-show-statistics tells how far examples got
    assert status in ALLOWED, (status, body, raw[:2000])
    if status != 200:
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}
    else:
        assert set(body) >= {"accepted", "duplicates", "ignored"}, body
    errors = [e for e in logs if e["log_level"] in ("error", "critical")]
    assert not errors, (errors, raw[:2000])


def post_cloud(gateway: Gateway, raw: bytes) -> None:
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw, APP_SECRET)}
    check(gateway, "/webhooks/whatsapp", raw, headers)


def post_wati(gateway: Gateway, raw: bytes) -> None:
    headers = {"Content-Type": "application/json", "X-Webhook-Token": WATI_TOKEN}
    check(gateway, "/webhooks/wati", raw, headers)


# --- strategies ----------------------------------------------------------------------------

ODD_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\ud800",  # a lone surrogate: JSON can escape it, UTF-8 cannot hold it
        "\udfff\ud800",
        "\u202eevil",
        "\ufeff",
        "\U0001f642" * 300,
        "٣٤٥",
        "１２３",
        "1e309",
        "-0",
        "NaN",
        "9" * 400,
        "wamid." + "x" * 5000,
        "null",
        "true",
        "AGENT_MODE",
        "end chat",
        "\n\r\t",
        "%s%n{0}{}",
    ]
)
HUGE = st.sampled_from(
    [2**63, -(2**63) - 1, 2**64, 10**30, -(10**30), 1e308, -1e308, 1e-320, 0.0, -0.0]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    HUGE,
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    ODD_TEXT,
)
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(max_size=12) | ODD_TEXT, children, max_size=5)
    ),
    max_leaves=25,
)
DEEP = re.compile(r'"@@deep(\d+)@@"')  # a placeholder `encode` turns into [[[...]]]


def encode(doc: Any) -> bytes:
    """JSON text of `doc`, with its deep-nesting placeholders expanded (json.dumps would hit
    the recursion limit on them itself)."""
    raw = json.dumps(doc, ensure_ascii=True)
    return DEEP.sub(lambda m: "[" * int(m.group(1)) + "]" * int(m.group(1)), raw).encode()


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(doc, dict):
        for key, child in doc.items():
            yield from paths(child, (*prefix, key))
    elif isinstance(doc, list):
        for index, child in enumerate(doc):
            yield from paths(child, (*prefix, index))


def at(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def swapped(value: Any) -> list[Any]:
    """The same value in the other JSON types a careless sender might use."""
    out: list[Any] = [None, [value], {"value": value}]
    if isinstance(value, str):
        out += [int(value)] if value.isdigit() else [len(value), True]
    elif isinstance(value, bool):
        out += [str(value).lower(), int(value)]
    elif isinstance(value, int | float):
        out += [str(value), value * 10**20, -value]
    return out


@st.composite
def mutated(draw: st.DrawFn, seeds: list[Any]) -> Any:
    """A valid envelope with one to four things wrong in it."""
    doc = copy.deepcopy(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        if len(encode(doc)) > 2 * MAX_BODY:
            break  # too large already (a 413): more would only slow the search
        path = draw(st.sampled_from(list(paths(doc))))
        old = at(doc, path)
        kind = draw(st.sampled_from(["replace", "swap", "delete", "nest", "grow", "deep"]))
        if kind == "replace":
            new = draw(JSON)
        elif kind == "swap":
            new = draw(st.sampled_from(swapped(old)))
        elif kind == "nest":
            new = old
            for _ in range(draw(st.integers(2, 60))):
                new = [new]
        elif kind == "grow" and isinstance(old, list) and old:
            new = old * draw(st.integers(2, 40))
        elif kind == "deep":
            new = f"@@deep{draw(st.sampled_from([64, 200, 900, 3000]))}@@"
        else:  # delete, or grow of what is not a list
            if not path:
                continue
            parent = at(doc, path[:-1])
            del parent[path[-1]]
            continue
        if not path:
            doc = new
        else:
            at(doc, path[:-1])[path[-1]] = new
    return doc


def cloud_message(msg: dict[str, Any]) -> dict[str, Any]:
    return envelope(entry(change(value(contacts=[DANA_BSUID], messages=[msg]))))


CLOUD_SEEDS: list[Any] = [
    cloud_text(PHONE, "hello", wamid="wamid.FZ1", ts=TS),
    cloud_button(PHONE, "AGENT_MODE", "Talk to Expert", wamid="wamid.FZ2", ts=TS),
    *(
        cloud_message(m)
        for m in (
            TEXT_3_1,
            BUTTON_REPLY_3_2,
            LIST_REPLY_3_3,
            TEMPLATE_BUTTON_3_4,
            IMAGE_3_5,
            AUDIO_3_6,
            DOCUMENT_3_7,
            LOCATION_3_8,
            STICKER_3_9,
            REACTION_ADDED_3_10,
            UNSUPPORTED_3_11,
            SYSTEM_3_12,
        )
    ),
    *(cloud_message(message(p.values[0], p.values[1], "wamid.FZ3", TS)) for p in CASES),
    envelope(entry(change(value(statuses=[SENT_3_13, DELIVERED_3_13, FAILED_3_13])))),
    envelope(entry(change(REALISTIC, field="history"))),
    envelope(
        entry(
            change(value(contacts=[DANA_BSUID], messages=[TEXT_3_1, IMAGE_3_5])),
            change(value(statuses=[DELIVERED_3_13])),
        ),
        entry(change({"event": "VERIFIED_ACCOUNT"}, field="account_update")),
    ),
]
WATI_SEEDS: list[Any] = [
    MESSAGE_4_4,
    AGENT_4_4,
    TEMPLATE_4_4,
    DELIVERED_4_4,
    FAILED_4_4,
    SEED_000_AGENT,
    WATI_BASE,
    sim_wati_message(PHONE, "hi", event_id="fz1", ts=TS),
    wati_agent(PHONE, "an agent writes", event_id="fz2", ts=TS),
    {**MESSAGE_4_4, "eventType": "message_bsuid", "bsuid": "AE.123456"},
]


# --- the properties ------------------------------------------------------------------------


def test_the_seeds_are_accepted(gateway: Gateway) -> None:
    """The valid envelopes the mutations start from are themselves fine."""
    for seed in CLOUD_SEEDS:
        post_cloud(gateway, encode(seed))
    for seed in WATI_SEEDS:
        post_wati(gateway, encode(seed))


@given(body=JSON)
def test_cloud_arbitrary_json(gateway: Gateway, body: Any) -> None:
    post_cloud(gateway, encode(body))


@given(body=st.binary(max_size=300))
def test_cloud_arbitrary_bytes(gateway: Gateway, body: bytes) -> None:
    post_cloud(gateway, body)


@given(body=mutated(CLOUD_SEEDS))
def test_cloud_mutated_envelopes(gateway: Gateway, body: Any) -> None:
    post_cloud(gateway, encode(body))


@given(body=JSON)
def test_wati_arbitrary_json(gateway: Gateway, body: Any) -> None:
    post_wati(gateway, encode(body))


@given(body=st.binary(max_size=300))
def test_wati_arbitrary_bytes(gateway: Gateway, body: bytes) -> None:
    post_wati(gateway, body)


@given(body=mutated(WATI_SEEDS))
def test_wati_mutated_events(gateway: Gateway, body: Any) -> None:
    post_wati(gateway, encode(body))


def test_integers_beyond_64_bits_in_fields_not_read_are_kept_as_digits(gateway: Gateway) -> None:
    """Found by the fuzzing: JSON has no limit on integers, msgpack (the inbox's encoding of
    an event) holds 64 bits; the message was a 500. Now it is stored, the number as text."""
    body = cloud_text(PHONE, "big", wamid="wamid.BIG", ts=TS)
    body["entry"][0]["changes"][0]["value"]["messages"][0]["extra"] = {"n": -(2**63) - 1}
    status, answer = gateway.post(
        "/webhooks/whatsapp",
        raw := encode(body),
        {"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw, APP_SECRET)},
    )
    assert (status, answer["accepted"]) == (200, 1)
    wati = {**MESSAGE_4_4, "id": "big-wati", "whatsappMessageId": "wamid.BIGW", "n": 10**30}
    status, answer = gateway.post("/webhooks/wati", encode(wati), {"X-Webhook-Token": WATI_TOKEN})
    assert (status, answer["accepted"]) == (200, 1)
