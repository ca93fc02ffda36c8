"""`step` and `next_wakeup` as tables of (state, message, now) -> (state, effects)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from actors.conversation.effects import Effect, Journal, Record, Reply, Send
from actors.conversation.messages import (
    AgentMessage,
    CustomerMessage,
    Identity,
    PauseRequest,
    ResumeRequest,
    Wake,
)
from actors.conversation.policy import PauseSettings, Policy
from actors.conversation.state import ConversationState, Pause, Session, new_conversation
from actors.conversation.step import next_wakeup, step
from actors.flows.loader import load_flows

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
WHO = Identity(business_id="b1", customer_id="966509491382", phone="966509491382", name="Omar")
POLICY = Policy(flows=load_flows(Path(__file__).resolve().parent.parent / "flows", "main"))
replace = msgspec.structs.replace


def fresh() -> ConversationState:
    """A new conversation with the id its next session takes (the shell draws one)."""
    state = new_conversation("c1", "b1", "966509491382", T0, "966509491382")
    return replace(state, next_session_id="s_1")


def customer(
    text: str | None = "hi", at: datetime = T0, choice: str | None = None, kind: str = "text"
) -> CustomerMessage:
    return CustomerMessage(
        who=WHO,
        provider="cloud",
        provider_message_id="wamid.1",
        sent_at=at,
        kind=kind,
        text=text,
        choice_id=choice,
    )


def agent(
    email: str | None = "contracts@abar.app",
    *,
    origin: str = "wati_session",
    owner: bool = True,
    conv: str | None = "68b3",
    echo: bool = False,
) -> AgentMessage:
    return AgentMessage(
        who=WHO,
        origin=origin,
        provider_message_id="w.9",
        sent_at=T0,  # type: ignore[arg-type]
        owner=owner,
        is_echo=echo,
        text="hello",
        agent_email=email,
        agent_name="M. Ibramim",
        agent_assignee_id="a1",
        external_conversation_id=conv,
    )


def paused(until: datetime) -> ConversationState:
    return replace(fresh(), pause=Pause(until=until, paused_at=T0))


def journal(effects: list[Effect]) -> list[tuple[str, str]]:
    return [(e.step_type, e.status) for e in effects if isinstance(e, Journal)]


def sends(effects: list[Effect]) -> list[str]:
    return [e.text for e in effects if isinstance(e, Send)]


@pytest.mark.parametrize(
    ("message", "paused_after", "journaled"),
    [
        (agent(), True, ("contracts_agent_detection", "conversation_paused")),
        (agent("CONTRACTS@abar.app"), True, ("contracts_agent_detection", "conversation_paused")),
        (agent(" contracts@abar.app "), True, ("contracts_agent_detection", "conversation_paused")),
        (agent("other@abar.app"), False, ("agent_detection", "not_trigger_agent")),
        (agent(None), False, ("agent_detection", "not_trigger_agent")),
        (agent(owner=False), False, ("agent_detection", "not_owner")),
        (agent(conv=None), False, ("agent_detection", "no_conversation_id")),
        (agent(conv=""), False, ("agent_detection", "no_conversation_id")),
        (agent(echo=True), False, ("agent_detection", "echo_ignored")),
        (agent(origin="wati_template"), False, ("agent_detection", "not_session_message")),
        (
            agent(None, origin="business_app", conv=None),
            True,
            ("contracts_agent_detection", "conversation_paused"),
        ),
    ],
)
def test_agent_trigger_table(
    message: AgentMessage, paused_after: bool, journaled: tuple[str, str]
) -> None:
    """Seed 000's detection: eventType, owner, the e-mail list, a conversation id, no echo."""
    state, effects = step(fresh(), message, T0, POLICY)
    assert (state.pause is not None) is paused_after
    assert journaled in journal(effects)
    if paused_after:
        assert state.pause is not None and state.pause.until == T0 + timedelta(hours=10)


def test_trigger_list_comes_from_policy() -> None:
    """Another e-mail in `pause.trigger_agent_emails` triggers; the duration is configurable."""
    policy = replace(
        POLICY, pause=PauseSettings(duration_hours=2, trigger_agent_emails=["support@abar.app"])
    )
    state, _ = step(fresh(), agent("support@abar.app"), T0, policy)
    assert state.pause is not None and state.pause.until == T0 + timedelta(hours=2)
    state, _ = step(fresh(), agent(), T0, policy)
    assert state.pause is None


def test_business_app_echo_can_be_switched_off() -> None:
    """`trigger_on_business_app_echoes = false` records the echo without pausing."""
    policy = replace(POLICY, pause=PauseSettings(trigger_on_business_app_echoes=False))
    state, effects = step(fresh(), agent(None, origin="business_app"), T0, policy)
    assert state.pause is None
    assert ("agent_detection", "business_app_not_trigger") in journal(effects)


def test_agent_pause_records_agent_fields() -> None:
    """The pause stores the agent's name, e-mail, assignee id and the conversation id."""
    state, _ = step(fresh(), agent(), T0, POLICY)
    assert state.pause == Pause(
        until=T0 + timedelta(hours=10),
        paused_at=T0,
        source="agent",
        agent_email="contracts@abar.app",
        agent_name="M. Ibramim",
        agent_assignee_id="a1",
        external_conversation_id="68b3",
    )


def test_extension_never_shortens() -> None:
    """A new agent message extends to now + 10 h but keeps a longer manual pause."""
    long = paused(T0 + timedelta(hours=48))
    state, effects = step(long, agent(), T0, POLICY)
    assert state.pause is not None and state.pause.until == T0 + timedelta(hours=48)
    assert ("contracts_agent_detection", "conversation_pause_extended") in journal(effects)
    short = paused(T0 + timedelta(hours=1))
    state, _ = step(short, agent(), T0, POLICY)
    assert state.pause is not None and state.pause.until == T0 + timedelta(hours=10)


@pytest.mark.parametrize(
    ("until", "now", "bot_answers", "journaled"),
    [
        (T0 + timedelta(hours=10), T0, False, ("conversation_pause_check", "paused_by_agent")),
        (
            T0 + timedelta(hours=10),
            T0 + timedelta(hours=10) - timedelta(microseconds=1),
            False,
            ("conversation_pause_check", "paused_by_agent"),
        ),
        (
            T0 + timedelta(hours=10),
            T0 + timedelta(hours=10),
            True,
            ("conversation_pause_expiry", "pause_expired"),
        ),
        (
            T0 + timedelta(hours=10),
            T0 + timedelta(hours=11),
            True,
            ("conversation_pause_expiry", "pause_expired"),
        ),
    ],
)
def test_customer_message_during_pause(
    until: datetime, now: datetime, bot_answers: bool, journaled: tuple[str, str]
) -> None:
    """Paused while now < expires_at; at expires_at exactly the pause is over."""
    state, effects = step(paused(until), customer(at=now), now, POLICY)
    assert bool(sends(effects)) is bot_answers
    assert journaled in journal(effects)
    assert any(isinstance(e, Record) and e.sender_type == "customer" for e in effects)
    assert state.unread_count == 1


def test_damaged_pause_lets_the_bot_answer() -> None:
    """A pause that cannot be checked (naive datetime in an old snapshot) is journaled and
    dropped, and the bot answers: failed checks default to processing."""
    broken = paused(datetime(2030, 1, 1))  # naive: comparing it with an aware now fails
    state, effects = step(broken, customer(), T0, POLICY)
    assert ("conversation_pause_check", "check_failed") in journal(effects)
    assert state.pause is None
    assert sends(effects) == ["How can we help you today?"]


def test_wake_at_expiry_clears_the_pause() -> None:
    """The timer's Wake at expires_at clears the pause and journals it."""
    state, effects = step(
        paused(T0 + timedelta(hours=10)), Wake(), T0 + timedelta(hours=10), POLICY
    )
    assert state.pause is None
    assert journal(effects) == [("conversation_pause_expiry", "pause_expired")]
    assert next_wakeup(state, POLICY) is None


def test_early_wake_changes_nothing() -> None:
    """A stale or early Wake leaves the state as it is."""
    before = paused(T0 + timedelta(hours=10))
    state, effects = step(before, Wake(), T0 + timedelta(hours=9), POLICY)
    assert state is before
    assert effects == [Reply(None)]


def test_manual_pause_and_resume() -> None:
    """PauseRequest replaces any pause for that long; ResumeRequest clears it."""
    state, effects = step(fresh(), PauseRequest(hours=3, by="admin"), T0, POLICY)
    assert state.pause is not None and state.pause.until == T0 + timedelta(hours=3)
    assert state.pause.source == "api"
    assert ("manual_pause", "conversation_paused") in journal(effects)
    state, effects = step(state, ResumeRequest(by="admin"), T0, POLICY)
    assert state.pause is None
    assert Reply(True) in effects


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (fresh(), None),
        (paused(T0 + timedelta(hours=10)), T0 + timedelta(hours=10)),
        (
            replace(
                paused(T0 + timedelta(hours=30)),
                session=Session(id="s", started_at=T0, expires_at=T0 + timedelta(hours=22)),
            ),
            T0 + timedelta(hours=22),
        ),
    ],
)
def test_next_wakeup_is_the_earliest_deadline(
    state: ConversationState, expected: datetime | None
) -> None:
    """next_wakeup gives the earliest deadline in the state, or None."""
    assert next_wakeup(state, POLICY) == expected


def test_first_message_starts_the_default_flow() -> None:
    """A new conversation gets the main menu and waits at it."""
    state, effects = step(fresh(), customer("hi"), T0, POLICY)
    menu = [e for e in effects if isinstance(e, Send)]
    assert [m.kind for m in menu] == ["buttons"]
    assert [c.id for c in menu[0].choices] == ["MENU_PRODUCTS", "MENU_ORDER", "AGENT_MODE"]
    assert state.flow is not None and (state.flow.flow_id, state.flow.node_id) == ("main", "menu")


def test_menu_choice_by_id_and_by_title() -> None:
    """A button id, or its title typed (any case), chooses; other text repeats the menu."""
    at_menu, _ = step(fresh(), customer("hi"), T0, POLICY)
    _, effects = step(at_menu, customer(None, choice="MENU_PRODUCTS"), T0, POLICY)
    assert sends(effects)[0].startswith("Our catalogue")
    _, effects = step(at_menu, customer("📦 PRODUCTS"), T0, POLICY)
    assert sends(effects)[0].startswith("Our catalogue")
    _, effects = step(at_menu, customer("what?"), T0, POLICY)
    assert sends(effects) == ["How can we help you today?"]
    assert ("bot", "menu_repeated") in journal(effects)


def test_question_saves_the_answer_and_renders_it() -> None:
    """A question node saves the answer under `save_as`; `{name}` is filled in later."""
    at_menu, _ = step(fresh(), customer("hi"), T0, POLICY)
    asked, effects = step(at_menu, customer(None, choice="MENU_ORDER"), T0, POLICY)
    assert sends(effects) == ["What is your name?"]
    done, effects = step(asked, customer("Omar"), T0, POLICY)
    assert sends(effects) == ["Thanks Omar! An order form is on its way."]
    assert done.variables == {"name": "Omar"}
    assert done.flow is None


def test_agent_mode_button_starts_a_session() -> None:
    """AGENT_MODE opens a waiting session; the customer is told an agent is coming."""
    state, effects = step(fresh(), customer(None, choice="AGENT_MODE"), T0, POLICY)
    assert state.session is not None and state.session.status == "waiting"
    assert state.session.expires_at == T0 + timedelta(hours=22)
    assert sends(effects) == ["🙋 Connecting you to an agent..."]
    assert state.mode == "human"


@pytest.mark.parametrize("text", ["end chat", "END CHAT", "  End   Chat ", "énd chât"])
def test_end_keyword_ends_the_session(text: str) -> None:
    """ "end chat", case- and accent-insensitive, ends the session; the bot is back."""
    in_session, _ = step(fresh(), customer(None, choice="AGENT_MODE"), T0, POLICY)
    state, _ = step(in_session, customer(text), T0, POLICY)
    assert state.session is None
    assert state.last_session is not None and state.last_session.end_reason == "customer"


def test_session_silences_the_bot_and_expires_after_22_hours() -> None:
    """While a session is open the bot says nothing; at 22 h it ends with a notice."""
    in_session, _ = step(fresh(), customer(None, choice="AGENT_MODE"), T0, POLICY)
    state, effects = step(
        in_session,
        customer("my order is late", at=T0 + timedelta(hours=1)),
        T0 + timedelta(hours=1),
        POLICY,
    )
    assert sends(effects) == []
    assert ("agent_session", "forwarded_to_agent") in journal(effects)
    state, effects = step(state, Wake(), T0 + timedelta(hours=22), POLICY)
    assert state.session is None
    assert sends(effects) == ["⏰ Chat expired after 22 hours"]


def test_stale_message_is_recorded_not_answered() -> None:
    """A message older than max_message_age_minutes (late after an outage) gets no reply."""
    late = customer("hi", at=T0 - timedelta(minutes=61))
    state, effects = step(fresh(), late, T0, POLICY)
    assert sends(effects) == []
    assert ("bot", "stale_message_not_answered") in journal(effects)
    assert state.unread_count == 1


@pytest.mark.parametrize("kind", ["reaction", "system", "unsupported", "unknown"])
def test_silent_kinds_get_no_reply(kind: str) -> None:
    """Reactions, system notices and unsupported messages are recorded, not answered."""
    _, effects = step(fresh(), customer(None, kind=kind), T0, POLICY)
    assert sends(effects) == []


def test_window_follows_the_last_customer_message() -> None:
    """The 24-hour window runs from the customer's last message."""
    state, _ = step(fresh(), customer("hi", at=T0), T0, POLICY)
    assert state.window_expires_at == T0 + timedelta(hours=24)
    assert state.window_open(T0 + timedelta(hours=23)) is True
    assert state.window_open(T0 + timedelta(hours=24)) is False
