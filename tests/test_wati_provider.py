"""WATI end to end, against a fake WATI tenant: the bot answers through WATI's API, reads its
answers right, knows its own echoes by their ids (so they never pause it, even from a
trigger e-mail), merges WATI's statuses, maps title-only button replies back to the menu,
and runs seed 000's pause."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog

from actors.flows.loader import FlowError, load_flows
from actors.maintenance.settings import SyncSettings
from actors.outbox.outbound import OutboundMessage, TemplateSend
from gateway.providers.wati import WatiProvider, local_message_id, outbox_id_of, v3_base
from gateway.settings import (
    ClockSettings,
    OutboxSettings,
    WatiSettings,
    WhatsAppSettings,
)
from tests.conftest import MakeSim
from tests.fake_wati import FakeWati
from tests.sim import BUSINESS, ENVIRON, Sim, settings_for, wati_agent, wati_message

PHONE = "966509491382"
MENU = "How can we help you today?"
TOKEN = "wati-token"
WatiSim = tuple[Sim, FakeWati]


async def wati_gateway(
    make_sim: MakeSim,
    aiohttp_server: Any,
    db_path: Path,
    *,
    channels: dict[str, str] | None = None,
    **sections: Any,
) -> WatiSim:
    wati = FakeWati(token=TOKEN)
    server = await aiohttp_server(wati.app)
    settings = settings_for(
        db_path,
        whatsapp=WhatsAppSettings(provider="wati", phone_number_id=BUSINESS),
        wati=WatiSettings(api_base=str(server.make_url("/123456")), channels=channels or {}),
        outbox=OutboxSettings(max_attempts=4, retry_base_seconds=1.0),
        **{"sync": SyncSettings(source="none"), **sections},  # these count sends only
    )
    sim = await make_sim(settings, environ={**ENVIRON, "WATI_API_TOKEN": TOKEN})
    wati.webhook = lambda event: sim.client.post("/webhooks/wati", json=event)
    return sim, wati


@pytest.fixture
async def wati_sim(make_sim: MakeSim, aiohttp_server: Any, db_path: Path) -> WatiSim:
    return await wati_gateway(make_sim, aiohttp_server, db_path)


async def customer(sim: Sim, text: str, **fields: Any) -> None:
    await sim.post_wati(
        {**wati_message(PHONE, text, event_id=sim.next_id("m"), ts=sim.ts()), **fields}
    )


async def echoes(sim: Sim, wati: FakeWati) -> None:
    await wati.deliver_echoes()
    await sim.settle()


def test_local_message_ids_are_ours_and_known_before_the_send() -> None:
    assert local_message_id(42) == "gw-42"
    assert outbox_id_of("gw-42") == 42
    assert outbox_id_of("2b7e5c1a-4a7d-4a5e") is None
    assert outbox_id_of(None) is None
    assert v3_base("https://live-mt-server.wati.io/123456") == "https://live-mt-server.wati.io"
    assert v3_base("https://live-mt-server.wati.io/123456/") == "https://live-mt-server.wati.io"


async def test_the_bot_answers_through_wati(wati_sim: WatiSim) -> None:
    """A customer writes on WATI; the menu goes out as reply buttons through v1, with our
    local message id, and its wamid is kept on the message."""
    sim, wati = wati_sim
    await customer(sim, "hi")
    [sent] = wati.accepted()
    assert (sent.route, sent.target, sent.text) == ("buttons", PHONE, MENU)
    assert sent.query["whatsappNumber"] == PHONE
    assert [b["text"] for b in sent.body["buttons"]] == [
        "📦 Products",
        "🛒 Place Order",
        "👤 Talk to Expert",
    ]
    assert outbox_id_of(sent.local_message_id) is not None
    bot = next(m for m in await sim.messages(PHONE) if m["sender_type"] == "bot")
    assert (bot["status"], bot["provider_message_id"]) == ("sent", "wamid.WATI_1")


async def test_session_text_has_every_field_in_the_query(wati_sim: WatiSim) -> None:
    sim, wati = wati_sim
    await customer(sim, "hi")
    await customer(sim, "hi", interactiveButtonReply={"title": "📦 Products"})
    text = wati.accepted()[-1]
    assert text.route == "session" and text.body is None
    assert text.query["messageText"].startswith("Our catalogue is at")
    assert text.query["localMessageId"] == text.local_message_id


async def test_a_list_for_more_than_three_choices(wati_sim: WatiSim) -> None:
    sim, wati = wati_sim
    provider = sim.runtime.provider
    assert isinstance(provider, WatiProvider)
    from actors.outbox.outbound import Choice

    choices = tuple(Choice(f"c{i}", f"Choice {i}", f"about {i}") for i in range(5))
    result = await provider.send(
        OutboundMessage(BUSINESS, PHONE, "Pick one", "list", choices, outbox_id=7)
    )
    assert result.ok
    [sent] = wati.accepted()
    assert sent.route == "list" and sent.local_message_id == "gw-7"
    rows = sent.body["sections"][0]["rows"]
    assert [(r["title"], r["description"]) for r in rows][:2] == [
        ("Choice 0", "about 0"),
        ("Choice 1", "about 1"),
    ]


async def test_a_template_names_its_parameters_and_our_local_id(wati_sim: WatiSim) -> None:
    """Templates go through V3 (host-rooted, no tenant), parameters by name."""
    sim, wati = wati_sim
    provider = sim.runtime.provider
    assert isinstance(provider, WatiProvider)
    template = TemplateSend("session_expired", params={"name": "Omar"})
    result = await provider.send(
        OutboundMessage(BUSINESS, PHONE, "Your chat expired", "template", template=template,
                        outbox_id=9)
    )  # fmt: skip
    assert result.ok
    [sent] = wati.accepted()
    [recipient] = sent.body["recipients"]
    assert recipient == {"target": PHONE, "local_message_id": "gw-9",
                         "custom_params": [{"name": "name", "value": "Omar"}]}  # fmt: skip
    assert sent.body["template_name"] == "session_expired"


async def test_the_channel_follows_the_business_number(
    make_sim: MakeSim, aiohttp_server: Any, db_path: Path
) -> None:
    sim, wati = await wati_gateway(
        make_sim, aiohttp_server, db_path, channels={"971400000000": BUSINESS}
    )
    await customer(sim, "hi", channelPhoneNumber="971400000000")
    [sent] = wati.accepted()
    assert sent.query["channelPhoneNumber"] == "971400000000"


# --- WATI's answers ------------------------------------------------------------------------


async def bot_message(sim: Sim) -> dict[str, Any]:
    return next(m for m in await sim.messages(PHONE) if m["sender_type"] == "bot")


async def test_a_200_saying_result_false_is_a_failure(wati_sim: WatiSim) -> None:
    sim, wati = wati_sim
    wati.fail_next(result_false="Invalid Conversation")
    await customer(sim, "hi")
    message = await bot_message(sim)
    assert (message["status"], message["error"]) == ("failed", "Invalid Conversation")
    assert len(wati.requests) == 1, "not retried"


async def test_recipient_errors_are_a_failure(wati_sim: WatiSim) -> None:
    sim, wati = wati_sim
    provider = sim.runtime.provider
    assert isinstance(provider, WatiProvider)
    wati.fail_next(recipient_errors=["Invalid phone number format."])
    result = await provider.send(
        OutboundMessage(BUSINESS, PHONE, "t", "template", template=TemplateSend("x"), outbox_id=3)
    )
    assert (result.ok, result.retryable, result.error_detail) == (
        False,
        False,
        "Invalid phone number format.",
    )


@pytest.mark.parametrize(
    ("status", "headers", "wait"),
    [(429, {"Retry-After": "30"}, 30), (500, {}, 1), (503, {}, 1)],
)
async def test_429_and_5xx_are_retried_honouring_retry_after(
    wati_sim: WatiSim, status: int, headers: dict[str, str], wait: float
) -> None:
    sim, wati = wati_sim
    wati.fail_next(status, headers=headers)
    await customer(sim, "hi")
    assert wati.sent_texts() == []
    await sim.advance(timedelta(seconds=wait - 0.5))
    assert wati.sent_texts() == []
    await sim.advance(timedelta(seconds=1))
    assert wati.sent_texts() == [MENU]
    assert (await bot_message(sim))["status"] == "sent"


@pytest.mark.parametrize("status", [400, 401, 403])
async def test_400_401_403_are_permanent_and_recorded(wati_sim: WatiSim, status: int) -> None:
    sim, wati = wati_sim
    wati.fail_next(status)
    await customer(sim, "hi")
    await sim.advance(timedelta(hours=1))
    message = await bot_message(sim)
    assert message["status"] == "failed" and message["error_code"] == status
    assert len(wati.requests) == 1


async def test_a_refused_token_is_logged_at_error_once(
    make_sim: MakeSim, aiohttp_server: Any, db_path: Path
) -> None:
    sim, wati = await wati_gateway(make_sim, aiohttp_server, db_path)
    wati.token = "rotated"
    with structlog.testing.capture_logs() as logs:
        for phone in ("966500000001", "966500000002", "966500000003"):
            await sim.post_wati(wati_message(phone, "hi", event_id=sim.next_id("m"), ts=sim.ts()))
    errors = [e for e in logs if e["log_level"] == "error"]
    assert [e["event"] for e in errors] == ["wati_token_refused"]


# --- echoes --------------------------------------------------------------------------------


async def test_our_echo_never_pauses_even_from_a_trigger_email(wati_sim: WatiSim) -> None:
    """The API user's e-mail is the seed's trigger address (a shared company inbox): the
    echo of our own send is still ours, by its localMessageId, and pauses nothing."""
    sim, wati = wati_sim
    assert wati.operator_email == "contracts@abar.app"
    await customer(sim, "hi")
    await echoes(sim, wati)
    conversation = await sim.conversation(PHONE)
    assert conversation["pause"] is None
    assert ("agent_detection", "echo_ignored") in await sim.journey(PHONE)
    assert [m["sender_type"] for m in await sim.messages(PHONE)] == ["customer", "bot"]


async def test_an_echo_that_outruns_the_answer_is_ours_too(wati_sim: WatiSim) -> None:
    """The echo is posted before WATI answers the send: our id was committed before."""
    sim, wati = wati_sim
    wati.echo_first = True
    await customer(sim, "hi")
    assert (await sim.conversation(PHONE))["pause"] is None
    assert ("agent_detection", "echo_ignored") in await sim.journey(PHONE)


async def test_an_old_echo_without_a_local_id_is_matched_on_its_text(wati_sim: WatiSim) -> None:
    """`sessionMessageSent` (v1) carries no localMessageId: the same text to the same
    customer within two minutes is ours."""
    sim, wati = wati_sim
    await customer(sim, "hi")
    wati.echoes.clear()
    await sim.post_wati(
        {**wati_agent(PHONE, MENU, event_id="old-echo"), "eventType": "sessionMessageSent"}
    )
    assert (await sim.conversation(PHONE))["pause"] is None


async def test_a_human_on_the_trigger_list_pauses(wati_sim: WatiSim) -> None:
    sim, wati = wati_sim
    await customer(sim, "hi")
    await echoes(sim, wati)
    await sim.agent_writes(PHONE, "Hello, I am taking over")
    conversation = await sim.conversation(PHONE)
    assert conversation["pause"]["agent_email"] == "contracts@abar.app"


async def test_watis_own_chatbot_does_not_pause(wati_sim: WatiSim) -> None:
    """WATI's chatbot writes as the operator "Bot": recorded as a bot's message, no pause."""
    sim, _ = wati_sim
    await customer(sim, "hi")
    await sim.post_wati(
        {**wati_agent(PHONE, "Hi from WATI's flow", event_id="bot-1"), "operatorName": "Bot",
         "eventType": "sessionMessageSent_v2"}
    )  # fmt: skip
    assert (await sim.conversation(PHONE))["pause"] is None
    last = (await sim.messages(PHONE))[-1]
    assert (last["sender_type"], last["sender_id"]) == ("bot", "wati")
    assert ("agent_detection", "wati_chatbot") in await sim.journey(PHONE)


# --- statuses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "status"),
    [
        ("sentMessageDELIVERED_v2", "delivered"),
        ("sentMessageREAD", "read"),
        ("sentMessageREPLIED_v2", "read"),
        ("sessionMessageFailed", "failed"),
    ],
)
async def test_statuses_are_matched_by_our_local_id(
    wati_sim: WatiSim, event_type: str, status: str
) -> None:
    sim, wati = wati_sim
    await customer(sim, "hi")
    [sent] = wati.accepted()
    await sim.post_wati(
        {"eventType": event_type, "localMessageId": sent.local_message_id,
         "id": "66f1a2e4e4b0a1b2c3d4e700", "whatsappMessageId": None,
         "conversationId": "66f19f00e4b0a1b2c3d40001", "timestamp": str(sim.ts()),
         "failedCode": "131026" if status == "failed" else None}
    )  # fmt: skip
    assert (await bot_message(sim))["status"] == status


# --- buttons mapped back by title ----------------------------------------------------------


async def test_a_title_only_reply_maps_back_to_the_menus_button(wati_sim: WatiSim) -> None:
    """WATI's reply carries the button's text: "Talk to Expert" (any case, accents or
    not) is AGENT_MODE, and opens a session."""
    sim, wati = wati_sim
    await customer(sim, "hi")
    await echoes(sim, wati)
    reply = {"id": "btn-2", "title": "👤 talk to EXPERT"}
    await customer(sim, "", type="interactive", interactiveButtonReply=reply)
    conversation = await sim.conversation(PHONE)
    assert conversation["mode"] == "human" and conversation["session"]["status"] == "waiting"


def test_titles_equal_but_for_case_or_accents_are_refused_under_wati(tmp_path: Path) -> None:
    (tmp_path / "main.toml").write_text(
        'id = "main"\nstart = "menu"\n[nodes.menu]\ntype = "menu"\ntext = "Pick"\n'
        'buttons = [{ id = "A", title = "Café" }, { id = "B", title = "cafe" }]\n'
    )
    load_flows(tmp_path, "main")  # with ids (Cloud API) they can be told apart
    with pytest.raises(FlowError, match="matched by title"):
        load_flows(tmp_path, "main", fold_titles=True)


# --- seed 000 on WATI, under the virtual clock --------------------------------------------


async def test_seed_000_on_wati_under_the_virtual_clock(
    make_sim: MakeSim, aiohttp_server: Any, db_path: Path
) -> None:
    """A customer writes and the bot answers through WATI; its echo does not pause it; an
    agent from the list writes and the bot keeps silent for 10 hours; then it answers
    through WATI again."""
    sim, wati = await wati_gateway(
        make_sim, aiohttp_server, db_path, clock=ClockSettings(mode="virtual")
    )
    advance: Callable[[float], Awaitable[Any]] = lambda seconds: sim.api(  # noqa: E731
        "POST", "/api/admin/clock/advance", body={"seconds": seconds}
    )
    await customer(sim, "السلام عليكم")
    assert wati.sent_texts() == [MENU]
    await echoes(sim, wati)
    assert (await sim.conversation(PHONE))["pause"] is None, "our echo did not pause"
    await sim.agent_writes(PHONE, "للاسف لا يمكن")
    assert (await sim.conversation(PHONE))["paused"] is True
    await advance(3600)
    await customer(sim, "hello?")
    assert wati.sent_texts() == [MENU], "silent while paused"
    await advance(9 * 3600 - 1)
    assert (await sim.conversation(PHONE))["paused"] is True
    await advance(1)
    assert ("conversation_pause_expiry", "pause_expired") in await sim.journey(PHONE)
    await customer(sim, "hi again")
    assert wati.sent_texts()[-1] == MENU and len(wati.sent_texts()) == 2


async def test_templates_are_paced_at_watis_published_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    """No more than `count` template sends in any 10 s: the next waits for a slot."""
    from gateway.providers import wati as module

    clock = [100.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(round(seconds, 3))
        clock[0] += seconds

    monkeypatch.setattr(module.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(module.asyncio, "sleep", sleep)
    pacer = module.RatePacer(3, 10.0)
    for _ in range(3):
        await pacer.slot()
    assert waits == []
    clock[0] += 4
    await pacer.slot()
    assert waits == [6.0], "waited until the first slot was 10 s old"
