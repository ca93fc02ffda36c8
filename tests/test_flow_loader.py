"""Flow files: the shipped flow loads; an invalid flow stops start-up naming file and key."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from actors.conversation.effects import Send
from actors.conversation.messages import CustomerMessage, Identity
from actors.conversation.policy import BotSettings, Policy
from actors.conversation.state import new_conversation
from actors.conversation.step import step
from actors.flows.loader import FlowError, load_flows
from actors.flows.model import MenuNode
from tests.sim import REPO


def write(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / name).write_text(text)
    return tmp_path


def test_default_flow_is_a_menu_with_talk_to_expert() -> None:
    """flows/main.toml is a menu whose buttons include AGENT_MODE."""
    flows = load_flows(REPO / "flows", "main")
    main = flows.flows["main"]
    menu = main.nodes[main.start]
    assert isinstance(menu, MenuNode)
    assert "AGENT_MODE" in [b.id for b in menu.buttons]


GOOD = """
id = "main"
start = "hello"
[nodes.hello]
type = "message"
text = "Hello"
next = "end"
"""


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (GOOD.replace('start = "hello"', 'start = "nowhere"'), "$.start"),
        (GOOD.replace('next = "end"', 'next = "missing"'), "$.nodes.hello.next"),
        (GOOD.replace('type = "message"', 'type = "teleport"'), "$.nodes.hello"),
        (GOOD.replace('text = "Hello"', 'txt = "Hello"'), "$.nodes.hello"),
        (GOOD + '[nodes.m]\ntype = "menu"\ntext = "?"\nbuttons = []\n', "$.nodes.m.buttons"),
        (
            GOOD + '[nodes.m]\ntype = "menu"\ntext = "?"\nbuttons = [{id = "a", title = "x"},'
            ' {id = "a", title = "y"}]\n',
            "$.nodes.m.buttons[1].id",
        ),
        (
            GOOD + '[nodes.m]\ntype = "menu"\ntext = "?"\n'
            'buttons = [{id = "a", title = "a title that is far too long"}]\n',
            "$.nodes.m.buttons[0].title",
        ),
        (GOOD + '[nodes.j]\ntype = "jump"\nflow = "elsewhere"\n', "$.nodes.j.flow"),
    ],
)
def test_invalid_flow_names_file_and_key(tmp_path: Path, text: str, named: str) -> None:
    """Each broken reference or limit is reported with the file and the key."""
    write(tmp_path, "main.toml", text)
    with pytest.raises(FlowError) as info:
        load_flows(tmp_path, "main")
    assert "main.toml" in str(info.value)
    assert named in str(info.value)


def test_missing_default_flow_is_an_error(tmp_path: Path) -> None:
    """bot.default_flow must name a loaded flow."""
    write(tmp_path, "other.toml", GOOD.replace('id = "main"', 'id = "other"'))
    with pytest.raises(FlowError, match=r"bot\.default_flow"):
        load_flows(tmp_path, "main")


def test_duplicate_flow_ids_are_an_error(tmp_path: Path) -> None:
    """Two files with one id: the second is refused."""
    write(tmp_path, "a.toml", GOOD)
    write(tmp_path, "b.toml", GOOD)
    with pytest.raises(FlowError, match="duplicate flow id"):
        load_flows(tmp_path, "main")


def test_jump_between_flows(tmp_path: Path) -> None:
    """A jump may name another loaded flow."""
    write(tmp_path, "main.toml", GOOD + '[nodes.j]\ntype = "jump"\nflow = "other"\n')
    write(tmp_path, "other.toml", GOOD.replace('id = "main"', 'id = "other"'))
    assert set(load_flows(tmp_path, "main").flows) == {"main", "other"}


def test_missing_folder_is_an_error(tmp_path: Path) -> None:
    """A flows_dir that does not exist stops start-up naming bot.flows_dir."""
    with pytest.raises(FlowError, match=r"bot\.flows_dir"):
        load_flows(tmp_path / "absent", "main")


def test_the_worked_example_of_the_docs_loads_and_runs(tmp_path: Path) -> None:
    """docs/flows.md's example is a valid flow, and does what the page says."""
    page = (Path(__file__).resolve().parent.parent / "docs" / "flows.md").read_text()
    [example] = [b for b in re.findall(r"```toml\n(.*?)```", page, re.S) if "orders.toml" in b]
    (tmp_path / "orders.toml").write_text(example)
    policy = Policy(flows=load_flows(tmp_path, "orders"), bot=BotSettings(default_flow="orders"))
    now = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    who = Identity("b", "447700900123", "447700900123")
    state = new_conversation("c", "b", "447700900123", now, "447700900123")
    seen = 0

    def says(text: str | None = None, choice: str | None = None) -> list[str]:
        nonlocal state, seen
        seen += 1
        msg = CustomerMessage(who, "cloud", f"wamid.{seen}", now, "text", text, choice)
        state, effects = step(state, msg, now, policy)
        return [e.text for e in effects if isinstance(e, Send)]

    assert says("hi") == ["What would you like to do?"]
    assert says(choice="ORDER_NEW") == ["What would you like to order?"]
    assert says("two blue mugs") == [
        "Noted: two blue mugs. We will send you a payment link shortly."
    ]
    assert state.flow is None, "the flow ended"


LOOP = GOOD.replace('next = "end"', 'next = "again"') + (
    '[nodes.again]\ntype = "message"\ntext = "Again"\nnext = "hello"\n'
)
JUMP_LOOP = GOOD.replace('next = "end"', 'next = "j"') + '[nodes.j]\ntype = "jump"\nflow = "main"\n'
QUESTION = '[nodes.q]\ntype = "question"\ntext = "Name?"\nsave_as = "name"\n'
ROWS = ", ".join(f'{{id = "r{i}", title = "Row {i}"}}' for i in range(11))


@pytest.mark.parametrize(
    ("text", "named", "reason"),
    [
        (LOOP, "$.nodes.hello", "loops without waiting for the customer"),
        (JUMP_LOOP, "$.nodes.hello", "main.hello -> main.j -> main.hello"),
        (
            GOOD + QUESTION + 'fallback_flow = "nowhere"\n',
            "$.nodes.q.fallback_flow",
            "'nowhere' is not loaded",
        ),
        (
            GOOD + '[timeouts]\naction = "fallback_flow"\nfallback_flow = "nowhere"\n',
            "$.timeouts.fallback_flow",
            "'nowhere' is not loaded",
        ),
        (
            GOOD + '[timeouts]\naction = "explode"\n',
            "$.timeouts.action",
            "Invalid enum value 'explode'",
        ),
        (GOOD + "[timeouts]\nminutes = 5\n", "$.timeouts", "unknown field `minutes`"),
        (GOOD + QUESTION + 'timeout_minutes = "soon"\n', "$.nodes.q.timeout_minutes", "got `str`"),
        (
            GOOD + QUESTION + 'reminder_template = { language = "en" }\n',
            "$.nodes.q.reminder_template",
            "missing required field `name`",
        ),
        (GOOD + '[nodes.q]\ntype = "question"\ntext = "Name?"\n', "$.nodes.q", "save_as"),
        (
            GOOD + f'[nodes.m]\ntype = "menu"\ntext = "?"\nbuttons = [{ROWS}]\n',
            "$.nodes.m.buttons",
            "at most 10 choices",
        ),
        (
            GOOD
            + '[nodes.m]\ntype = "menu"\ntext = "?"\nbuttons = ['
            + ", ".join(f'{{id = "r{i}", title = "{"x" * 25}{i}"}}' for i in range(4))
            + "]\n",
            "$.nodes.m.buttons[0].title",
            "longer than 24 characters",
        ),
    ],
    ids=[
        "message loop",
        "loop through a jump",
        "question falls back to a missing flow",
        "flow falls back to a missing flow",
        "unknown action",
        "unknown timeouts key",
        "minutes not a number",
        "template without a name",
        "question without save_as",
        "eleven list rows",
        "list row title too long",
    ],
)
def test_invalid_flow_gives_its_error(tmp_path: Path, text: str, named: str, reason: str) -> None:
    """Each invalid flow file stops loading with the file, the key and what is wrong."""
    write(tmp_path, "main.toml", text)
    with pytest.raises(FlowError) as info:
        load_flows(tmp_path, "main")
    message = str(info.value)
    assert "main.toml" in message
    assert f"`{named}`" in message
    assert reason in message


def test_a_loop_that_waits_is_fine(tmp_path: Path) -> None:
    """Messages that lead back to a menu wait for the customer on the way: no loop."""
    write(
        tmp_path,
        "main.toml",
        GOOD.replace('next = "end"', 'next = "m"')
        + '[nodes.m]\ntype = "menu"\ntext = "?"\n'
        + 'buttons = [{id = "a", title = "A", next = "hello"}]\n',
    )
    assert set(load_flows(tmp_path, "main").flows) == {"main"}


def test_the_shipped_flows_load_under_both_providers() -> None:
    """flows/ (main and seed 003's `atendimento`) is valid, titles folded or not."""
    for fold_titles in (False, True):
        flows = load_flows(REPO / "flows", "main", fold_titles=fold_titles)
        assert {"main", "atendimento"} <= set(flows.flows)


def test_the_timeouts_example_of_the_docs_is_the_shipped_flow() -> None:
    """docs/flows.md quotes flows/atendimento.toml: what it shows is what ships."""
    page = (REPO / "docs" / "flows.md").read_text()
    [quoted] = [b for b in re.findall(r"```toml\n(.*?)```", page, re.S) if "atendimento" in b]
    shown = tomllib.loads(quoted)
    shipped = tomllib.loads((REPO / "flows" / "atendimento.toml").read_text())
    assert shown["timeouts"] == shipped["timeouts"]
    for name, node in shown["nodes"].items():
        assert node == shipped["nodes"][name]
