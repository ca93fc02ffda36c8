"""The flow interpreter: runs `message`, `menu`, `question`, `handoff`, `jump` and `end`
nodes for a conversation the bot owns. Pure, like `step`."""

from __future__ import annotations

from datetime import datetime

import msgspec

from actors.conversation.effects import Effect, Journal, Send
from actors.conversation.messages import CustomerMessage
from actors.conversation.policy import Policy
from actors.conversation.sessions import start_session
from actors.conversation.state import ConversationState, FlowPosition
from actors.flows.matching import fold
from actors.flows.model import (
    EndNode,
    Flow,
    HandoffNode,
    JumpNode,
    MenuNode,
    MessageNode,
    QuestionNode,
)
from actors.flows.render import render
from actors.outbox.outbound import Choice

replace = msgspec.structs.replace
MAX_HOPS = 50


def run_bot(
    state: ConversationState, msg: CustomerMessage, now: datetime, policy: Policy, fx: list[Effect]
) -> ConversationState:
    """Answer one customer message from where the conversation stands in its flow."""
    position = state.flow
    flow = policy.flows.get(position.flow_id) if position else None
    node = flow.nodes.get(position.node_id) if flow and position else None
    if flow is None or node is None:
        start = policy.flows.get(policy.flows.default)
        if start is None:
            fx.append(Journal("bot", "no_flow", policy.flows.default))
            return state
        return enter(state, start, start.start, now, policy, fx)
    if isinstance(node, MenuNode):
        return _answer_menu(state, flow, node, msg, now, policy, fx)
    if isinstance(node, QuestionNode):
        answer = msg.text if msg.text is not None else msg.choice_title
        if answer is None:
            fx.append(Journal("bot", "question_repeated", f"{flow.id}.{position.node_id}"))  # type: ignore[union-attr]
            fx.append(Send(render(node.text, state.variables)))
            return state
        variables = {**state.variables, node.save_as: answer}
        fx.append(Journal("bot", "answer_saved", node.save_as))
        return enter(replace(state, variables=variables), flow, node.next, now, policy, fx)
    return enter(state, flow, flow.start, now, policy, fx)


def _answer_menu(
    state: ConversationState,
    flow: Flow,
    node: MenuNode,
    msg: CustomerMessage,
    now: datetime,
    policy: Policy,
    fx: list[Effect],
) -> ConversationState:
    chosen = None
    for button in node.buttons:
        if msg.choice_id is not None and button.id == msg.choice_id:
            chosen = button
            break
    if chosen is None and (msg.text or msg.choice_title):
        typed = fold(msg.text or msg.choice_title or "")
        chosen = next((b for b in node.buttons if fold(b.title) == typed), None)
    if chosen is None:
        fx.append(Journal("bot", "menu_repeated", flow.id))
        fx.append(_menu_send(node, state.variables))
        return state
    fx.append(Journal("bot", "menu_choice", chosen.id))
    if chosen.id == policy.sessions.agent_mode_button:
        return start_session(state, now, policy, fx)
    if chosen.next is None:
        return replace(state, flow=None)
    return enter(state, flow, chosen.next, now, policy, fx)


def enter(
    state: ConversationState,
    flow: Flow,
    node_id: str,
    now: datetime,
    policy: Policy,
    fx: list[Effect],
) -> ConversationState:
    """Run nodes from `node_id` until one waits for the customer or the flow ends."""
    for _ in range(MAX_HOPS):
        if node_id == "end":
            return replace(state, flow=None)
        node = flow.nodes.get(node_id)
        if node is None:
            fx.append(Journal("bot", "missing_node", f"{flow.id}.{node_id}"))
            return replace(state, flow=None)
        match node:
            case MessageNode():
                fx.append(Send(render(node.text, state.variables)))
                fx.append(Journal("bot", "message_sent", f"{flow.id}.{node_id}"))
                node_id = node.next
            case MenuNode():
                fx.append(_menu_send(node, state.variables))
                fx.append(Journal("bot", "menu_sent", f"{flow.id}.{node_id}"))
                return replace(state, flow=FlowPosition(flow.id, node_id, now))
            case QuestionNode():
                fx.append(Send(render(node.text, state.variables)))
                fx.append(Journal("bot", "question_sent", f"{flow.id}.{node_id}"))
                return replace(state, flow=FlowPosition(flow.id, node_id, now))
            case HandoffNode():
                if node.text:
                    fx.append(Send(render(node.text, state.variables)))
                return start_session(replace(state, flow=None), now, policy, fx, "flow")
            case JumpNode():
                target = policy.flows.get(node.flow)
                if target is None:
                    fx.append(Journal("bot", "missing_flow", node.flow))
                    return replace(state, flow=None)
                flow, node_id = target, target.start
            case EndNode():
                if node.text:
                    fx.append(Send(render(node.text, state.variables)))
                return replace(state, flow=None)
    fx.append(Journal("bot", "flow_loop", f"{flow.id}.{node_id}"))
    return replace(state, flow=None)


def _menu_send(node: MenuNode, variables: dict[str, str]) -> Send:
    choices = tuple(Choice(b.id, b.title, b.description) for b in node.buttons)
    return Send(
        render(node.text, variables),
        kind="buttons" if len(choices) <= 3 else "list",
        choices=choices,
        header=node.header,
        footer=node.footer,
        list_button=node.list_button,
    )
