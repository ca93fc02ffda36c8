"""Timeout settings resolved key by key: the question node, then the flow's `[timeouts]`,
then the business number's, then the global `[timeouts]`. A layer sets only what it names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from actors.flows.model import FlowTimeouts, QuestionNode, TemplateRef, TimeoutSettings
from actors.flows.timeouts import resolve
from gateway.policies import build_policies
from gateway.settings import NumberSettings, SettingsError, parse_settings
from tests.sim import BUSINESS, settings_for

GLOBAL = TimeoutSettings(
    inactivity_minutes=60,
    reminder_after_minutes=30,
    reminder_text="global reminder",
    action="close",
    close_text="global close",
)
QUESTION = QuestionNode(text="Name?", save_as="name")


def keys(**changed: Any) -> dict[str, Any]:
    """The resolved keys: the global ones, with `changed` applied."""
    base = {
        "kind": "inactivity",
        "minutes": 60.0,
        "reminder_after_minutes": 30,
        "reminder_text": "global reminder",
        "action": "close",
        "fallback_flow": "",
        "timeout_text": "",
        "close_text": "global close",
        "reminder_template": None,
        "timeout_template": None,
        "close_template": None,
    }
    return {**base, **changed}


def as_dict(node: QuestionNode | None, flow: FlowTimeouts | None, number: FlowTimeouts | None,
            defaults: TimeoutSettings = GLOBAL) -> dict[str, Any]:  # fmt: skip
    rules = resolve(node, flow, number, defaults)
    return {k: getattr(rules, k) for k in keys()}


TEMPLATE = TemplateRef("still_there", "pt_BR", {"nome": "{nome}"})


@pytest.mark.parametrize(
    ("node", "flow", "number", "expected"),
    [
        pytest.param(None, None, None, keys(), id="global only"),
        pytest.param(
            None, None, FlowTimeouts(inactivity_minutes=15), keys(minutes=15.0),
            id="a partial number block keeps the global reminder and action",
        ),
        pytest.param(
            None, FlowTimeouts(action="transfer"), FlowTimeouts(inactivity_minutes=15),
            keys(minutes=15.0, action="transfer"),
            id="flow and number each set their own keys",
        ),
        pytest.param(
            None, FlowTimeouts(inactivity_minutes=90), FlowTimeouts(inactivity_minutes=15),
            keys(minutes=90.0), id="the flow comes before the number",
        ),
        pytest.param(
            QuestionNode(text="Name?", save_as="name", timeout_minutes=10, reminder_text="node"),
            FlowTimeouts(inactivity_minutes=90, reminder_text="flow", action="transfer"),
            FlowTimeouts(reminder_after_minutes=5),
            keys(kind="question", minutes=10.0, reminder_text="node", action="transfer",
                 reminder_after_minutes=5),
            id="a question node comes first; its timeout is a question timeout",
        ),
        pytest.param(
            QuestionNode(text="Name?", save_as="name", reminder_text="node"),
            FlowTimeouts(inactivity_minutes=20), None,
            keys(minutes=20.0, reminder_text="node"),
            id="a question without timeout_minutes waits on the flow's inactivity",
        ),
        pytest.param(
            None, FlowTimeouts(reminder_template=TEMPLATE), None,
            keys(reminder_template=TEMPLATE), id="templates resolve like texts",
        ),
        pytest.param(
            None, FlowTimeouts(inactivity_minutes=0), None, keys(minutes=0.0),
            id="0 turns a timeout off",
        ),
    ],
)  # fmt: skip
def test_resolution_order(
    node: QuestionNode | None,
    flow: FlowTimeouts | None,
    number: FlowTimeouts | None,
    expected: dict[str, Any],
) -> None:
    assert as_dict(node, flow, number) == expected


def test_a_reminder_only_counts_before_the_timeout() -> None:
    """A reminder at or after the action would never be seen: it is not armed."""
    assert resolve(None, None, None, GLOBAL).reminds
    late = FlowTimeouts(reminder_after_minutes=60)
    assert not resolve(None, late, None, GLOBAL).reminds
    assert not resolve(None, FlowTimeouts(reminder_after_minutes=0), None, GLOBAL).reminds


def test_the_number_block_of_the_settings_file_is_partial() -> None:
    """`[numbers."id".timeouts]` with one key decodes to that key alone."""
    settings = parse_settings(
        '[timeouts]\ninactivity_minutes = 60\nreminder_after_minutes = 30\naction = "transfer"\n'
        f'[numbers."{BUSINESS}".timeouts]\ninactivity_minutes = 15\n'
    )
    number = settings.numbers[BUSINESS]
    assert number == NumberSettings(timeouts=FlowTimeouts(inactivity_minutes=15))
    rules = resolve(None, None, number.timeouts, settings.timeouts)
    assert (rules.minutes, rules.reminder_after_minutes, rules.action) == (15, 30, "transfer")


def test_the_policy_of_a_number_carries_its_block(db_path: Path) -> None:
    """build_policies gives each business number its block, the others the global one."""
    settings = settings_for(
        db_path,
        timeouts=GLOBAL,
        numbers={BUSINESS: NumberSettings(timeouts=FlowTimeouts(inactivity_minutes=15))},
    )
    policy_for = build_policies(settings)
    assert policy_for(BUSINESS).number_timeouts == FlowTimeouts(inactivity_minutes=15)
    assert policy_for("another").number_timeouts == FlowTimeouts()
    assert policy_for(BUSINESS).timeouts == GLOBAL


@pytest.mark.parametrize(
    ("timeouts", "numbers", "named"),
    [
        (TimeoutSettings(fallback_flow="nowhere"), {}, "$.timeouts.fallback_flow"),
        (
            TimeoutSettings(),
            {BUSINESS: NumberSettings(timeouts=FlowTimeouts(fallback_flow="nowhere"))},
            f'$.numbers."{BUSINESS}".timeouts.fallback_flow',
        ),
        (
            TimeoutSettings(inactivity_minutes=5, action="fallback_flow"),
            {},
            "action fallback_flow, but fallback_flow '' is not a loaded flow",
        ),
    ],
    ids=["global names a missing flow", "number names a missing flow", "fallback with no flow"],
)
def test_a_fallback_to_a_missing_flow_stops_start_up(
    db_path: Path, timeouts: TimeoutSettings, numbers: dict[str, NumberSettings], named: str
) -> None:
    settings = settings_for(db_path, timeouts=timeouts, numbers=numbers)
    with pytest.raises(SettingsError) as info:
        build_policies(settings)
    assert named in str(info.value)
