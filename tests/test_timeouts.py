"""Seed 003: question and inactivity timeouts that act on their own, at the minute configured.

Every test runs the whole gateway under freezegun; time moves only by `sim.advance`, which
fires each deadline at its own instant. Nothing sleeps."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from actors.conversation.policy import NumberSettings
from actors.flows.model import FlowTimeouts, TemplateRef, TimeoutSettings
from gateway.settings import BotSettings, SessionSettings
from tests.conftest import MakeSim
from tests.sim import BUSINESS, Sim, cloud_text, conversation_timers, settings_for

PHONE = "447700900123"
MAIN = """
id = "main"
start = "menu"

[timeouts]
inactivity_minutes = 60
reminder_after_minutes = 30
reminder_text = "Still there?"
action = "close"
close_text = "Closed for inactivity."

[nodes.menu]
type = "menu"
text = "Pick one"
buttons = [
  { id = "ASK", title = "Ask me", next = "ask" },
  { id = "FALLBACK", title = "Fallback", next = "lost" },
  { id = "AGENT_MODE", title = "Talk to Expert" },
]

[nodes.ask]
type = "question"
text = "Your name?"
save_as = "name"
next = "thanks"
timeout_minutes = 15
reminder_after_minutes = 5
reminder_text = "Your name, {name_hint}?"
action = "transfer"
timeout_text = "Passing you to a human."

[nodes.thanks]
type = "message"
text = "Thanks {name}!"
next = "end"

[nodes.lost]
type = "question"
text = "Which order?"
save_as = "order"
timeout_minutes = 10
action = "fallback_flow"
fallback_flow = "rescue"
timeout_text = "Let us try another way."
"""
RESCUE = """
id = "rescue"
start = "again"

[timeouts]
inactivity_minutes = 0

[nodes.again]
type = "menu"
text = "Rescue menu"
buttons = [{ id = "AGENT_MODE", title = "Talk to Expert" }]
"""
MakeFlows = Callable[..., Awaitable[Sim]]


@pytest.fixture
def flows_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "main.toml").write_text(MAIN)
    (folder / "rescue.toml").write_text(RESCUE)
    return folder


@pytest.fixture
def start(make_sim: MakeSim, db_path: Path, flows_dir: Path) -> MakeFlows:
    """A gateway on the test flows (or `main` replaced), with extra settings sections."""

    async def make(main: str | None = None, **sections: Any) -> Sim:
        if main is not None:
            (flows_dir / "main.toml").write_text(main)
        bot = BotSettings(flows_dir=str(flows_dir))
        return await make_sim(settings_for(db_path, bot=bot, **sections))

    return make


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


async def sent_during(sim: Sim, delta: timedelta) -> list[str]:
    before = len(sim.provider.sent)
    await sim.advance(delta)
    return [m.text for m in sim.provider.sent[before:]]


async def says(sim: Sim, text: str) -> list[str]:
    before = len(sim.provider.sent)
    await sim.customer_says(PHONE, text)
    return [m.text for m in sim.provider.sent[before:]]


async def taps(sim: Sim, button: str, title: str) -> list[str]:
    before = len(sim.provider.sent)
    await sim.customer_taps(PHONE, button, title)
    return [m.text for m in sim.provider.sent[before:]]


async def deadlines(sim: Sim) -> dict[str, str]:
    conversation = await sim.conversation(PHONE)
    detail = await sim.api("GET", f"/api/conversations/{conversation['id']}")
    return {d["kind"]: d["at"] for d in detail["deadlines"]}


def at(sim: Sim, delta: timedelta) -> str:
    return (sim.now() + delta).isoformat().replace("+00:00", "Z")


def timeout_steps(journey: list[tuple[str, str]]) -> list[str]:
    return [status for step_type, status in journey if step_type == "timeout"]


async def test_question_reminds_then_transfers(start: MakeFlows) -> None:
    """At 5 minutes the reminder, once; at 15 the timeout text and a live-agent session."""
    sim = await start()
    await says(sim, "hi")
    assert await taps(sim, "ASK", "Ask me") == ["Your name?"]
    assert await deadlines(sim) == {
        "reminder": at(sim, minutes(5)),
        "timeout": at(sim, minutes(15)),
    }

    assert await sent_during(sim, minutes(5) - timedelta(seconds=1)) == []
    assert await sent_during(sim, timedelta(seconds=1)) == ["Your name, {name_hint}?"]
    assert await deadlines(sim) == {"timeout": at(sim, minutes(10))}
    assert await sent_during(sim, minutes(10) - timedelta(seconds=1)) == []
    assert await sent_during(sim, timedelta(seconds=1)) == [
        "Passing you to a human.",
        SessionSettings().connecting_text,
    ]
    conversation = await sim.conversation(PHONE)
    assert conversation["mode"] == "human"
    assert conversation["session"]["chat_state"] == "waiting_assignment"
    assert timeout_steps(await sim.journey(PHONE)) == [
        "reminder_sent",
        "question_timeout",
        "transferred",
    ]
    assert "reminder" not in await deadlines(sim) and "timeout" not in await deadlines(sim)
    assert await sent_during(sim, timedelta(hours=3)) == [], "nothing fires during a session"


async def test_an_answer_between_reminder_and_timeout_cancels_both(start: MakeFlows) -> None:
    """The answer moves the flow on; the question's timeout never fires."""
    sim = await start()
    await says(sim, "hi")
    await taps(sim, "ASK", "Ask me")
    assert await sent_during(sim, minutes(6)) == ["Your name, {name_hint}?"]
    assert await says(sim, "Dana") == ["Thanks Dana!"]
    assert "timeout" not in await deadlines(sim)
    assert await sent_during(sim, minutes(20)) == []
    assert (await sim.conversation(PHONE))["session"] is None
    assert timeout_steps(await sim.journey(PHONE)) == ["reminder_sent"]


async def test_inactivity_closes_then_the_next_message_starts_again(start: MakeFlows) -> None:
    """The flow's inactivity covers the menu: reminder at 30, close at 60 with reason
    inactivity; the customer's next message reopens the conversation at the flow's start."""
    sim = await start()
    assert await says(sim, "hi") == ["Pick one"]
    assert await deadlines(sim) == {
        "reminder": at(sim, minutes(30)),
        "inactivity": at(sim, minutes(60)),
    }
    assert await sent_during(sim, minutes(30)) == ["Still there?"]
    assert await sent_during(sim, minutes(30)) == ["Closed for inactivity."]
    conversation = await sim.conversation(PHONE)
    assert (conversation["status"], conversation["closed_reason"]) == ("closed", "inactivity")
    assert conversation["flow"] is None and conversation["deadlines"] == []
    assert await sent_during(sim, timedelta(days=2)) == []

    assert await says(sim, "back again") == ["Pick one"]
    conversation = await sim.conversation(PHONE)
    assert (conversation["status"], conversation["closed_reason"]) == ("open", None)
    journey = await sim.journey(PHONE)
    assert ("conversation", "closed") in journey and ("conversation", "reopened") in journey
    assert timeout_steps(journey) == ["reminder_sent", "inactivity_timeout"]


async def test_any_customer_message_restarts_the_inactivity_clock(start: MakeFlows) -> None:
    """Text that only repeats the menu still counts: the reminder moves with it."""
    sim = await start()
    await says(sim, "hi")
    await sim.advance(minutes(25))
    assert await says(sim, "what?") == ["Pick one"]
    assert await deadlines(sim) == {
        "reminder": at(sim, minutes(30)),
        "inactivity": at(sim, minutes(60)),
    }
    assert await sent_during(sim, minutes(29)) == []
    assert await sent_during(sim, minutes(1)) == ["Still there?"]


async def test_fallback_flow_jumps_to_that_flows_start(start: MakeFlows) -> None:
    """At the timeout the conversation continues at the fallback flow's start; that flow's
    own timeouts (off) then apply."""
    sim = await start()
    await says(sim, "hi")
    assert await taps(sim, "FALLBACK", "Fallback") == ["Which order?"]
    assert await sent_during(sim, minutes(10)) == ["Let us try another way.", "Rescue menu"]
    conversation = await sim.conversation(PHONE)
    assert conversation["flow"] == {"flow_id": "rescue", "node_id": "again"}
    assert conversation["deadlines"] == []
    assert timeout_steps(await sim.journey(PHONE)) == ["question_timeout", "fallback_flow"]
    assert await sent_during(sim, timedelta(hours=5)) == []


async def test_seed_003_one_hour_question_in_portuguese(make_sim: MakeSim, db_path: Path) -> None:
    """The shipped `atendimento` flow: reminder at 30 minutes, the seed's text and a transfer
    at one hour, while the customer says nothing."""
    settings = settings_for(db_path)
    bot = BotSettings(flows_dir=settings.bot.flows_dir, default_flow="atendimento")
    sim = await make_sim(settings_for(db_path, bot=bot))
    await says(sim, "oi")
    assert await taps(sim, "PEDIDO", "Fazer um pedido") == ["Qual é seu nome?"]
    assert await sent_during(sim, minutes(30)) == ["Ainda estou aqui, sua resposta é importante!"]
    assert await sent_during(sim, minutes(30) - timedelta(seconds=1)) == []
    assert (await sent_during(sim, timedelta(seconds=1)))[0] == (
        "O tempo para resposta expirou. Vou encaminhar você para um agente humano."
    )
    assert (await sim.conversation(PHONE))["session"]["chat_state"] == "waiting_assignment"


async def test_a_restart_between_reminder_and_timeout_fires_once(
    make_sim: MakeSim, start: MakeFlows
) -> None:
    """The reminder is in the snapshot as sent; after the restart only the timeout is left,
    and it fires at its minute, once."""
    first = await start()
    await says(first, "hi")
    await taps(first, "ASK", "Ask me")
    asked = first.now()
    assert await sent_during(first, minutes(7)) == ["Your name, {name_hint}?"]
    await first.client.close()

    second = await start()
    assert conversation_timers(second) == 1
    assert await deadlines(second) == {
        "timeout": (asked + minutes(15)).isoformat().replace("+00:00", "Z")
    }
    assert await sent_during(second, minutes(8)) == [
        "Passing you to a human.",
        SessionSettings().connecting_text,
    ]
    assert await sent_during(second, timedelta(hours=2)) == []
    assert timeout_steps(await second.journey(PHONE)) == [
        "reminder_sent",
        "question_timeout",
        "transferred",
    ]


async def test_a_timeout_passed_while_down_runs_at_start_without_its_reminder(
    start: MakeFlows,
) -> None:
    """Down through both stages: at start the action runs; a reminder after the fact is not
    sent."""
    first = await start()
    await says(first, "hi")
    await taps(first, "ASK", "Ask me")
    await first.client.close()
    first.frozen.tick(minutes(40))

    second = await start()
    await second.settle()
    assert second.sent_texts() == ["Passing you to a human.", SessionSettings().connecting_text]
    assert timeout_steps(await second.journey(PHONE)) == ["question_timeout", "transferred"]


async def test_a_stale_answer_does_not_cancel_the_question(start: MakeFlows) -> None:
    """An answer that arrives late (sent before `bot.max_message_age_minutes`) is recorded,
    gets no reply, and the question's timeout still fires at its minute."""
    sim = await start()
    await says(sim, "hi")
    await taps(sim, "ASK", "Ask me")
    late = cloud_text(PHONE, "Dana", wamid=sim.next_id(), ts=sim.ts() - 2 * 3600)
    await sim.post_cloud(late)
    assert sim.sent_texts()[-1] == "Your name?"
    journey = await sim.journey(PHONE)
    assert ("bot", "stale_message_not_answered") in journey
    assert "Dana" in [m["text"] for m in await sim.messages(PHONE)]
    assert set(await deadlines(sim)) == {"reminder", "timeout"}
    assert await sent_during(sim, minutes(15)) == [
        "Your name, {name_hint}?",
        "Passing you to a human.",
        SessionSettings().connecting_text,
    ]


async def test_nothing_fires_while_the_bot_is_paused(start: MakeFlows) -> None:
    """A human agent writing from another inbox pauses the bot (seed 000): the pending
    timeout is dropped, and none is armed while the pause holds."""
    sim = await start()
    await says(sim, "hi")
    await taps(sim, "ASK", "Ask me")
    await sim.agent_writes(PHONE, "I am on it")
    assert "timeout" not in await deadlines(sim)
    assert await sent_during(sim, timedelta(hours=2)) == []
    assert await says(sim, "ok thanks") == []
    assert "timeout" not in await deadlines(sim)


async def test_after_a_session_ends_nothing_is_armed_until_the_customer_writes(
    start: MakeFlows,
) -> None:
    """The customer ends the chat: the bot owns the conversation again, but it waits for
    nothing, so no timeout runs until the customer writes to the bot."""
    sim = await start()
    await says(sim, "hi")
    await taps(sim, "AGENT_MODE", "Talk to Expert")
    await says(sim, "end chat")
    assert (await sim.conversation(PHONE))["deadlines"] == []
    assert await sent_during(sim, timedelta(hours=3)) == []
    await says(sim, "hello again")
    assert set(await deadlines(sim)) == {"reminder", "inactivity"}


TEMPLATE = '{ name = "still_there", language = "pt_BR", params = { nome = "{name}" } }'
LONG = MAIN.replace("timeout_minutes = 15", "timeout_minutes = 1560").replace(
    "reminder_after_minutes = 5", "reminder_after_minutes = 1500"
)


async def test_outside_the_window_an_automatic_message_without_template_is_not_sent(
    start: MakeFlows,
) -> None:
    """25 hours after the customer's last message the window is closed: the reminder is not
    sent (the journal says window_closed), and neither is the transfer's text."""
    sim = await start(LONG)
    await says(sim, "hi")
    await taps(sim, "ASK", "Ask me")
    assert await sent_during(sim, minutes(1500)) == []
    assert ("automatic_message", "window_closed") in await sim.journey(PHONE)
    assert await sent_during(sim, minutes(60)) == []
    journey = await sim.journey(PHONE)
    assert timeout_steps(journey) == ["reminder_sent", "question_timeout", "transferred"]
    assert journey.count(("automatic_message", "window_closed")) == 3  # reminder, text, notice
    assert (await sim.conversation(PHONE))["session"] is not None
    assert [s for s in sim.provider.sent if s.kind == "template"] == []


async def test_outside_the_window_the_configured_template_goes(start: MakeFlows) -> None:
    """With a template for the reminder, the reminder goes as that template, its named
    parameters filled from the conversation's variables."""
    flow = LONG.replace(
        'reminder_text = "Your name, {name_hint}?"',
        f'reminder_text = "Your name, {{name_hint}}?"\nreminder_template = {TEMPLATE}',
    )
    sim = await start(flow)
    await says(sim, "hi")
    await taps(sim, "ASK", "Ask me")
    await sim.advance(minutes(1500))
    [sent] = sim.provider.sent[-1:]
    assert sent.kind == "template" and sent.template is not None
    assert (sent.template.name, sent.template.language) == ("still_there", "pt_BR")
    assert sent.template.params == {"nome": "{name}"}
    assert ("automatic_message", "template_sent") in await sim.journey(PHONE)


async def test_inside_the_window_the_text_goes_not_the_template(start: MakeFlows) -> None:
    flow = MAIN.replace(
        'reminder_text = "Your name, {name_hint}?"',
        f'reminder_text = "Your name?"\nreminder_template = {TEMPLATE}',
    )
    sim = await start(flow)
    await says(sim, "hi")
    await taps(sim, "ASK", "Ask me")
    await sim.advance(minutes(5))
    assert [(m.kind, m.text) for m in sim.provider.sent[-1:]] == [("text", "Your name?")]


async def test_session_expiry_notice_outside_the_window(make_sim: MakeSim, db_path: Path) -> None:
    """The 22-hour expiry notice after a customer silent for 24 hours: the session notice
    checks the window too, and goes as its template."""
    sessions = SessionSettings(
        expiry_hours=30,
        expired_template=TemplateRef("chat_expired", "en"),
    )
    sim = await make_sim(settings_for(db_path, sessions=sessions))
    await sim.customer_taps(PHONE, "AGENT_MODE", "Talk to Expert")
    await sim.advance(timedelta(hours=30))
    [sent] = sim.provider.sent[-1:]
    assert sent.kind == "template" and sent.template is not None
    assert sent.template.name == "chat_expired"


async def test_number_block_sets_only_its_keys(make_sim: MakeSim, db_path: Path) -> None:
    """Global: reminder at 10, close at 20. The number's block sets inactivity to 15 alone:
    the reminder at 10 and the close action stay."""
    settings = settings_for(
        db_path,
        timeouts=TimeoutSettings(
            inactivity_minutes=20, reminder_after_minutes=10, reminder_text="R", close_text="C"
        ),
        numbers={BUSINESS: NumberSettings(timeouts=FlowTimeouts(inactivity_minutes=15))},
    )
    sim = await make_sim(settings)
    assert await says(sim, "hi") == ["How can we help you today?"]
    assert await sent_during(sim, minutes(10)) == ["R"]
    assert await sent_during(sim, minutes(5)) == ["C"]
    assert (await sim.conversation(PHONE))["status"] == "closed"


async def test_flows_route_lists_the_loaded_flows(start: MakeFlows) -> None:
    """GET /api/flows: every flow with its nodes (id and type first), what its file sets
    and the timeouts in force; GET /api/flows/{id} one of them; 404 names the id."""
    sim = await start()
    found = await sim.api("GET", "/api/flows")
    assert {f["id"] for f in found["items"]} == {"main", "rescue"}
    main = await sim.api("GET", "/api/flows/main")
    assert main["start"] == "menu" and main["default"] is True
    assert [n["id"] for n in main["nodes"]] == ["menu", "ask", "thanks", "lost"]
    assert main["nodes"][0]["type"] == "menu"
    assert main["timeouts"] == {
        "inactivity_minutes": 60,
        "reminder_after_minutes": 30,
        "reminder_text": "Still there?",
        "action": "close",
        "close_text": "Closed for inactivity.",
    }
    ask = main["nodes"][1]
    assert ask["timeouts_in_force"]["kind"] == "question"
    assert (ask["timeouts_in_force"]["minutes"], ask["timeouts_in_force"]["action"]) == (
        15,
        "transfer",
    )
    assert main["timeouts_in_force"]["kind"] == "inactivity"
    missing = await sim.api("GET", "/api/flows/nope", expect=404)
    assert missing["error"]["field"] == "flow_id"


async def test_a_fallback_outside_the_window_sends_nothing_but_says_so(start: MakeFlows) -> None:
    """The fallback flow's own texts are bot messages too: outside the window none goes,
    and the journal says window_closed (no 131047 earned)."""
    flow = MAIN.replace("timeout_minutes = 10", "timeout_minutes = 1500")
    sim = await start(flow)
    await says(sim, "hi")
    await taps(sim, "FALLBACK", "Fallback")
    assert await sent_during(sim, minutes(1500)) == ["Still there?"], "the flow's reminder"
    conversation = await sim.conversation(PHONE)
    assert conversation["flow"] == {"flow_id": "rescue", "node_id": "again"}
    journey = await sim.journey(PHONE)
    assert journey.count(("automatic_message", "window_closed")) == 2  # timeout text, menu


async def test_each_stage_is_one_log_line_without_text(start: MakeFlows) -> None:
    """A person reading the log sees the reminder, the timeout with its action, and the
    session it started; no message text."""
    sim = await start()
    await says(sim, "hi")
    await taps(sim, "ASK", "Ask me")
    with capture_logs() as logs:
        await sim.advance(minutes(15))
    events = [
        (e["event"], e.get("kind"), e.get("action")) for e in logs if e["log_level"] == "info"
    ]
    assert ("timeout_reminder_sent", "question", None) in events
    assert ("timeout_fired", "question", "transfer") in events
    assert "session_started" in [e[0] for e in events]
    at_info = [e for e in logs if e["log_level"] != "debug"]
    leaked = [e for e in at_info if "Your name" in str(e) or "Passing you" in str(e)]
    assert leaked == []
