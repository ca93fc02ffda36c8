"""Which timeout applies where the conversation waits: resolved key by key, from the question
node, then the flow's `[timeouts]`, then the business number's, then the global defaults. A
layer sets only the keys it names; nothing is hard-coded here."""

from __future__ import annotations

from typing import Literal

import msgspec

from actors.flows.model import (
    Action,
    FlowSet,
    FlowTimeouts,
    QuestionNode,
    TemplateRef,
    TimeoutSettings,
)

# The keys every layer may set (a question node calls its timeout `timeout_minutes`).
KEYS = (
    "reminder_after_minutes",
    "reminder_text",
    "reminder_template",
    "action",
    "fallback_flow",
    "timeout_text",
    "timeout_template",
    "close_text",
    "close_template",
)


class Timeouts(msgspec.Struct, frozen=True):
    """The timeout in force: `question` (the question node's `timeout_minutes`, counted from
    when it was asked) or `inactivity` (no customer message for `minutes`); 0 is off."""

    kind: Literal["question", "inactivity"]
    minutes: float
    reminder_after_minutes: float
    reminder_text: str
    action: Action
    fallback_flow: str
    timeout_text: str
    close_text: str
    reminder_template: TemplateRef | None = None
    timeout_template: TemplateRef | None = None
    close_template: TemplateRef | None = None

    @property
    def reminds(self) -> bool:
        return 0 < self.reminder_after_minutes < self.minutes


def resolve(
    node: QuestionNode | None,
    flow: FlowTimeouts | None,
    number: FlowTimeouts | None,
    defaults: TimeoutSettings,
) -> Timeouts:
    layers: list[object] = [layer for layer in (node, flow, number) if layer is not None]

    def first(key: str) -> object:
        for layer in layers:
            value = getattr(layer, key, None)
            if value is not None:
                return value
        return getattr(defaults, key)

    if node is not None and node.timeout_minutes is not None:
        kind: Literal["question", "inactivity"] = "question"
        minutes = node.timeout_minutes
    else:
        kind = "inactivity"
        minutes = first("inactivity_minutes")  # type: ignore[assignment]
    return Timeouts(kind=kind, minutes=float(minutes), **{k: first(k) for k in KEYS})  # type: ignore[arg-type]


def fallback_problem(
    flows: FlowSet, number: FlowTimeouts | None, defaults: TimeoutSettings
) -> str | None:
    """Where, with these number and global layers, a timeout would fall back to a flow that
    is not loaded (`flow.key: reason`), or None. Checked at start-up, so it never fails
    at the minute the timeout runs."""
    for flow in flows.flows.values():
        places: list[tuple[QuestionNode | None, str]] = [(None, "timeouts")]
        places += [
            (node, f"nodes.{name}")
            for name, node in flow.nodes.items()
            if isinstance(node, QuestionNode)
        ]
        for node, where in places:
            rules = resolve(node, flow.timeouts, number, defaults)
            if (
                rules.minutes > 0
                and rules.action == "fallback_flow"
                and rules.fallback_flow not in flows.flows
            ):
                return (
                    f"flow {flow.id!r} at `{where}`: action fallback_flow, but fallback_flow"
                    f" {rules.fallback_flow!r} is not a loaded flow"
                )
    return None
