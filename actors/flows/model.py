"""Bot flows as data: the typed shape of `flows/*.toml` (API.md, "Flow files")."""

from __future__ import annotations

from typing import Literal

import msgspec

Action = Literal["transfer", "close", "fallback_flow"]


class TemplateRef(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """An approved template to send instead of a text when the customer's 24-hour window is
    closed: its name, language, and named parameters (which may use `{variable}`)."""

    name: str
    language: str = "en"
    params: dict[str, str] = msgspec.field(default_factory=dict)


class TimeoutKeys(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The timeout keys every layer may set (None: taken from the layer below)."""

    reminder_after_minutes: float | None = None
    reminder_text: str | None = None
    reminder_template: TemplateRef | None = None
    action: Action | None = None
    fallback_flow: str | None = None
    timeout_text: str | None = None
    timeout_template: TemplateRef | None = None
    close_text: str | None = None
    close_template: TemplateRef | None = None


class FlowTimeouts(TimeoutKeys, frozen=True, kw_only=True):
    """A flow's `[timeouts]` or a business number's: the keys it sets, and the inactivity
    timeout (no customer message for that long)."""

    inactivity_minutes: float | None = None


class TimeoutSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """`[timeouts]`: the global defaults, the last layer of timeout keys (after the question
    node, the flow's `[timeouts]` and the business number's)."""

    inactivity_minutes: float = 0.0
    reminder_after_minutes: float = 0.0
    reminder_text: str = "Still there? Your answer matters to us."
    reminder_template: TemplateRef | None = None
    action: Action = "close"
    fallback_flow: str = ""
    timeout_text: str = ""
    timeout_template: TemplateRef | None = None
    close_text: str = "We closed this conversation. Write again any time."
    close_template: TemplateRef | None = None


class Button(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """One choice of a menu: a reply button (up to 3) or a list row (more)."""

    id: str
    title: str
    next: str | None = None
    description: str | None = None


class MessageNode(
    msgspec.Struct, tag="message", tag_field="type", forbid_unknown_fields=True, frozen=True
):
    """Send `text`, then go on to `next` at once."""

    text: str
    next: str = "end"


class MenuNode(
    msgspec.Struct, tag="menu", tag_field="type", forbid_unknown_fields=True, frozen=True
):
    """Send `text` with buttons and wait for a choice; any other text repeats the menu."""

    text: str
    buttons: list[Button]
    header: str | None = None
    footer: str | None = None
    list_button: str = "Choose"


class QuestionNode(TimeoutKeys, tag="question", tag_field="type", frozen=True, kw_only=True):
    """Ask `text`, save the answer as `save_as`, go on to `next`; its own timeout keys come
    first, before the flow's."""

    text: str
    save_as: str
    next: str = "end"
    timeout_minutes: float | None = None  # counted from when it was asked


class HandoffNode(
    msgspec.Struct, tag="handoff", tag_field="type", forbid_unknown_fields=True, frozen=True
):
    """Hand the conversation to a live agent (a session starts)."""

    text: str | None = None


class JumpNode(
    msgspec.Struct, tag="jump", tag_field="type", forbid_unknown_fields=True, frozen=True
):
    """Continue at the start of another flow."""

    flow: str


class EndNode(msgspec.Struct, tag="end", tag_field="type", forbid_unknown_fields=True, frozen=True):
    """Finish the flow, optionally with a last text."""

    text: str | None = None


Node = MessageNode | MenuNode | QuestionNode | HandoffNode | JumpNode | EndNode


class Flow(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """One flow file."""

    id: str
    start: str
    nodes: dict[str, Node]
    timeouts: FlowTimeouts = FlowTimeouts()
    description: str = ""


class FlowSet(msgspec.Struct, frozen=True):
    """Every loaded flow, by id, and the one a new conversation starts in."""

    flows: dict[str, Flow] = msgspec.field(default_factory=dict)
    default: str = "main"

    def get(self, flow_id: str) -> Flow | None:
        return self.flows.get(flow_id)
