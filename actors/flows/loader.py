"""Load and check `flows/*.toml` at start-up; a bad flow names its file and key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import msgspec

from actors.flows.matching import fold
from actors.flows.model import Flow, FlowSet, JumpNode, MenuNode, MessageNode, Node, QuestionNode


class FlowError(Exception):
    """A flow file is invalid; names the file and the key."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


MAX_MENU_ROWS = 10
MAX_BUTTON_TITLE = 20
MAX_ROW_TITLE = 24


def load_flows(directory: Path, default: str, *, fold_titles: bool = False) -> FlowSet:
    """Read every `*.toml` in `directory`; raise FlowError naming the file and key.

    `fold_titles`: a reply maps back to its button by title alone (WATI's replies carry only
    their text), so two titles of a menu may not be equal even after case and accents are
    folded."""
    flows: dict[str, Flow] = {}
    loaded: list[tuple[Path, Flow]] = []
    if not directory.is_dir():
        raise FlowError(str(directory), "the flows folder does not exist - at `bot.flows_dir`")
    files = sorted(directory.glob("*.toml"))
    for path in files:
        flow = _decode_flow(path)
        if flow.id in flows:
            raise FlowError(str(path), f"duplicate flow id {flow.id!r} - at `$.id`")
        flows[flow.id] = flow
        loaded.append((path, flow))
    flow_set = FlowSet(flows=flows, default=default)
    for path, flow in loaded:
        problem = check_flow(flow, flow_set, fold_titles=fold_titles)
        if problem:
            raise FlowError(str(path), problem)
    if flows and default not in flows:
        raise FlowError(
            str(directory), f"default flow {default!r} not found - at `bot.default_flow`"
        )
    return flow_set


def _decode_flow(path: Path) -> Flow:
    """Decode one file; node errors name the node (`$.nodes.menu.buttons[0].title`)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise FlowError(str(path), f"not valid TOML: {exc}") from None
    nodes = data.get("nodes")
    if isinstance(nodes, dict):
        for name, node in nodes.items():
            try:
                msgspec.convert(node, Node)
            except msgspec.ValidationError as exc:
                raise FlowError(str(path), _at(str(exc), f"$.nodes.{name}")) from None
    try:
        return msgspec.convert(data, Flow)
    except msgspec.ValidationError as exc:
        raise FlowError(str(path), str(exc)) from None


def _at(message: str, prefix: str) -> str:
    """Re-root msgspec's `- at `$...`` path under `prefix`."""
    head, sep, where = message.partition(" - at `$")
    if not sep:
        return f"{message} - at `{prefix}`"
    return f"{head} - at `{prefix}{where}"


def check_flow(flow: Flow, flow_set: FlowSet, *, fold_titles: bool = False) -> str | None:
    """The first reference or limit this flow breaks, as `reason - at `$.key``, or None."""
    if flow.start not in flow.nodes:
        return f"start node {flow.start!r} does not exist - at `$.start`"
    fallback = flow.timeouts.fallback_flow
    if fallback and fallback not in flow_set.flows:
        return f"fallback_flow {fallback!r} is not loaded - at `$.timeouts.fallback_flow`"
    for name, node in flow.nodes.items():
        where = f"$.nodes.{name}"
        if isinstance(node, MessageNode | QuestionNode) and not _target_ok(node.next, flow):
            return f"next {node.next!r} is not a node of this flow - at `{where}.next`"
        if (
            isinstance(node, QuestionNode)
            and node.fallback_flow
            and node.fallback_flow not in flow_set.flows
        ):
            named = node.fallback_flow
            return f"fallback_flow {named!r} is not loaded - at `{where}.fallback_flow`"
        if isinstance(node, MessageNode | JumpNode):
            loop = _loop_from(flow, name, flow_set)
            if loop:
                return (
                    f"the flow loops without waiting for the customer ({' -> '.join(loop)})"
                    f" - at `{where}`"
                )
        if isinstance(node, JumpNode) and node.flow not in flow_set.flows:
            return f"flow {node.flow!r} is not loaded - at `{where}.flow`"
        if isinstance(node, MenuNode):
            problem = _check_menu(node, flow, where, fold_titles)
            if problem:
                return problem
    return None


def _loop_from(flow: Flow, name: str, flow_set: FlowSet) -> list[str]:
    """The path back to where it started if following `message` nexts and `jump`s from
    `flow.nodes[name]` never reaches a node that waits (menu, question, handoff) or ends;
    else empty."""
    path: list[str] = []
    seen: set[tuple[str, str]] = set()
    here: Flow | None = flow
    while here is not None and name in here.nodes:
        if (here.id, name) in seen:
            return [*path, f"{here.id}.{name}"]
        seen.add((here.id, name))
        path.append(f"{here.id}.{name}")
        node = here.nodes[name]
        if isinstance(node, MessageNode):
            name = node.next
        elif isinstance(node, JumpNode):
            here = flow_set.get(node.flow)
            name = here.start if here is not None else ""
        else:
            return []
    return []


def _target_ok(target: str | None, flow: Flow) -> bool:
    return target is None or target == "end" or target in flow.nodes


def _check_menu(node: MenuNode, flow: Flow, where: str, fold_titles: bool) -> str | None:
    if not node.buttons:
        return f"a menu needs at least one button - at `{where}.buttons`"
    if len(node.buttons) > MAX_MENU_ROWS:
        return f"at most {MAX_MENU_ROWS} choices - at `{where}.buttons`"
    limit = MAX_BUTTON_TITLE if len(node.buttons) <= 3 else MAX_ROW_TITLE
    if not node.text.strip():
        return f"a menu needs a text - at `{where}.text`"
    seen: set[str] = set()
    titles: set[str] = set()
    for i, button in enumerate(node.buttons):
        if button.id in seen:
            return f"duplicate button id {button.id!r} - at `{where}.buttons[{i}].id`"
        title = fold(button.title) if fold_titles else button.title
        if title in titles:
            also = (
                " (replies are matched by title, ignoring case and accents)" if fold_titles else ""
            )
            return (
                f"duplicate button title {button.title!r}{also} - at `{where}.buttons[{i}].title`"
            )
        seen.add(button.id)
        titles.add(title)
        if len(button.title) > limit:
            return f"title longer than {limit} characters - at `{where}.buttons[{i}].title`"
        if not _target_ok(button.next, flow):
            return (
                f"next {button.next!r} is not a node of this flow - at `{where}.buttons[{i}].next`"
            )
    return None
