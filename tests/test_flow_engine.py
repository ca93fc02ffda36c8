"""The flow interpreter, node type by node type, through the pure `step`: menus as reply
buttons or a list, questions with `{variable}` placeholders, handoff, jump and end."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from actors.conversation.effects import Send
from actors.conversation.messages import CustomerMessage, Identity
from actors.conversation.policy import BotSettings, Policy
from actors.conversation.state import ConversationState, new_conversation
from actors.conversation.step import step
from actors.flows.loader import load_flows

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
PHONE = "447700900123"
MAIN = """
id = "main"
start = "menu"

[nodes.menu]
type = "menu"
text = "Hello {name}, pick a slot"
header = "Slots"
footer = "Times are local"
list_button = "Show times"
buttons = [
  { id = "S9", title = "09:00", description = "morning", next = "ask" },
  { id = "S12", title = "12:00", next = "ask" },
  { id = "S15", title = "15:00", next = "ask" },
  { id = "S18", title = "18:00", next = "human" },
  { id = "JUMP", title = "Other things", next = "elsewhere" },
]

[nodes.ask]
type = "question"
text = "Your name?"
save_as = "name"
next = "confirm"

[nodes.confirm]
type = "message"
text = "Booked, {name}."
next = "bye"

[nodes.bye]
type = "end"
text = "Bye {name}, see you {unknown}."

[nodes.human]
type = "handoff"
text = "One moment, {name}."

[nodes.elsewhere]
type = "jump"
flow = "other"
"""
OTHER = """
id = "other"
start = "hello"

[nodes.hello]
type = "message"
text = "Welcome to the other flow."
next = "menu"

[nodes.menu]
type = "menu"
text = "Yes or no?"
buttons = [{ id = "Y", title = "Yes" }, { id = "N", title = "No" }]
"""


class Chat:
    def __init__(self, tmp_path: Path) -> None:
        (tmp_path / "main.toml").write_text(MAIN)
        (tmp_path / "other.toml").write_text(OTHER)
        flows = load_flows(tmp_path, "main")
        self.policy = Policy(flows=flows, bot=BotSettings(default_flow="main"))
        self.state: ConversationState = msgspec.structs.replace(
            new_conversation("c", "b", PHONE, NOW, PHONE), next_session_id="s_1"
        )
        self.seen = 0

    def says(self, text: str | None = None, choice: str | None = None) -> list[Send]:
        self.seen += 1
        who = Identity("b", PHONE, PHONE)
        kind = "interactive" if choice else "text"
        msg = CustomerMessage(who, "cloud", f"wamid.{self.seen}", NOW, kind, text, choice)
        self.state, effects = step(self.state, msg, NOW, self.policy)
        return [e for e in effects if isinstance(e, Send)]


@pytest.fixture
def chat(tmp_path: Path) -> Chat:
    return Chat(tmp_path)


def test_more_than_three_options_go_as_a_list(chat: Chat) -> None:
    """Five options: a list message with its rows, header, footer and button text."""
    [menu] = chat.says("hi")
    assert menu.kind == "list"
    assert [c.id for c in menu.choices] == ["S9", "S12", "S15", "S18", "JUMP"]
    assert menu.choices[0].description == "morning"
    assert (menu.header, menu.footer, menu.list_button) == (
        "Slots",
        "Times are local",
        "Show times",
    )
    assert menu.text == "Hello {name}, pick a slot", "an unknown variable stays as written"


def test_three_options_or_fewer_go_as_reply_buttons(chat: Chat) -> None:
    chat.says("hi")
    [welcome, menu] = chat.says(choice="JUMP")
    assert welcome.text == "Welcome to the other flow."
    assert (menu.kind, [c.title for c in menu.choices]) == ("buttons", ["Yes", "No"])


def test_a_list_choice_leads_to_its_node_and_variables_fill_the_text(chat: Chat) -> None:
    chat.says("hi")
    assert [s.text for s in chat.says(choice="S12")] == ["Your name?"]
    assert [s.text for s in chat.says("Dana")] == ["Booked, Dana.", "Bye Dana, see you {unknown}."]
    assert chat.state.variables == {"name": "Dana"}
    assert chat.state.flow is None, "the end node finishes the flow"
    [menu] = chat.says("again")
    assert menu.text == "Hello Dana, pick a slot", "the next message starts the flow again"


def test_a_typed_title_picks_the_option(chat: Chat) -> None:
    chat.says("hi")
    assert [s.text for s in chat.says("12:00")] == ["Your name?"]


def test_other_text_repeats_the_menu(chat: Chat) -> None:
    chat.says("hi")
    [menu] = chat.says("tomorrow?")
    assert menu.kind == "list"
    assert chat.state.flow is not None and chat.state.flow.node_id == "menu"


def test_a_handoff_node_starts_a_live_agent_session(chat: Chat) -> None:
    """Its text, then the session's connecting notice; the chat waits for an agent."""
    chat.says("hi")
    sent = chat.says(choice="S18")
    assert [s.text for s in sent] == ["One moment, {name}.", chat.policy.sessions.connecting_text]
    assert chat.state.session is not None
    assert chat.state.session.chat_state == "waiting_assignment"
    assert chat.state.flow is None
    assert chat.says("hello?") == [], "the customer now writes to the agent"


def test_a_jump_continues_at_the_other_flows_start(chat: Chat) -> None:
    chat.says("hi")
    chat.says(choice="JUMP")
    assert chat.state.flow is not None
    assert (chat.state.flow.flow_id, chat.state.flow.node_id) == ("other", "menu")
    assert chat.says(choice="Y") == []
    assert chat.state.flow is None, "a choice without next ends the flow"
