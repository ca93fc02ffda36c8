"""Question and inactivity timeouts (seed 003), as deadlines in the state.

While the bot owns the conversation (no live-agent session, no pause, not closed), a timeout
is armed where the conversation waits: the question node's own (`timeout_minutes`, from when
it was asked) or the flow's inactivity timeout (no customer message for that long). It has
two stages: the reminder, sent once, and the action (`transfer`, `close` or
`fallback_flow`). A customer message cancels whatever is pending and arms anew; a stale one
(late after an outage) does not. The keys are resolved by `actors.flows.timeouts.resolve`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from actors.conversation.automatic import automatic
from actors.conversation.bot import enter
from actors.conversation.effects import Effect, Journal
from actors.conversation.policy import Policy
from actors.conversation.sessions import start_session
from actors.conversation.state import ConversationState, FlowPosition, PendingTimeout
from actors.flows.model import Flow, QuestionNode
from actors.flows.timeouts import Timeouts, resolve
from storage.views import Deadline

replace = msgspec.structs.replace


def _where(state: ConversationState, policy: Policy) -> tuple[Flow | None, QuestionNode | None]:
    """The flow the conversation is in (the default flow when between flows), and the
    question it waits at, if it does."""
    position = state.flow
    flow = policy.flows.get(position.flow_id if position else policy.flows.default)
    node = flow.nodes.get(position.node_id) if flow is not None and position else None
    return flow, node if isinstance(node, QuestionNode) else None


def _resolved(flow: Flow | None, node: QuestionNode | None, policy: Policy) -> Timeouts:
    return resolve(node, flow.timeouts if flow else None, policy.number_timeouts, policy.timeouts)


def _for(timer: PendingTimeout, policy: Policy) -> Timeouts:
    flow = policy.flows.get(timer.flow_id) if timer.flow_id else None
    node = flow.nodes.get(timer.node_id) if flow is not None and timer.node_id else None
    return _resolved(flow, node if isinstance(node, QuestionNode) else None, policy)


def bot_owns(state: ConversationState, paused: bool) -> bool:
    """No live-agent session, no pause, not closed or archived: the bot speaks, so a timeout
    may run."""
    return (
        state.session is None
        and not paused
        and state.status == "open"
        and state.archived_at is None
    )


def rearm(
    state: ConversationState,
    before: FlowPosition | None,
    now: datetime,
    policy: Policy,
    paused: bool,
    fresh: bool,
) -> ConversationState:
    """The timeout the state holds after a step. None unless the bot owns the conversation.
    A new one when the customer wrote to the bot (`fresh`: that cancels what was pending), or
    when the step moved the conversation to a new place where it waits (a fallback flow);
    otherwise the one armed stays, with its times."""
    if not bot_owns(state, paused):
        return state if state.timeout is None else replace(state, timeout=None)
    moved = state.flow is not None and state.flow != before
    if not fresh and not moved:
        return state
    flow, node = _where(state, policy)
    rules = _resolved(flow, node, policy)
    if rules.minutes <= 0:
        return state if state.timeout is None else replace(state, timeout=None)
    reminder = now + timedelta(minutes=rules.reminder_after_minutes) if rules.reminds else None
    timer = PendingTimeout(
        kind=rules.kind,
        due_at=now + timedelta(minutes=rules.minutes),
        flow_id=flow.id if flow is not None else None,
        node_id=state.flow.node_id if state.flow is not None else None,
        reminder_at=reminder,
    )
    return replace(state, timeout=timer)


def check_timeouts(
    state: ConversationState, now: datetime, policy: Policy, paused: bool, fx: list[Effect]
) -> ConversationState:
    """Run what is due: the reminder (once, and only before the action is due), then the
    action."""
    timer = state.timeout
    if timer is None:
        return state
    if not bot_owns(state, paused):
        return replace(state, timeout=None)
    rules = _for(timer, policy)
    if timer.reminder_at is not None and timer.reminder_at <= now < timer.due_at:
        text, template = rules.reminder_text, rules.reminder_template
        automatic(state, f"{timer.kind}_reminder", text, template, now, fx)
        fx.append(Journal("timeout", "reminder_sent", f"{timer.kind} {where(timer)}"))
        timer = replace(timer, reminder_at=None)
        state = replace(state, timeout=timer)
    if now < timer.due_at:
        return state
    state = replace(state, timeout=None)
    fx.append(Journal("timeout", f"{timer.kind}_timeout", f"{rules.action} {where(timer)}"))
    return _act(state, rules, now, policy, fx)


def _act(
    state: ConversationState, rules: Timeouts, now: datetime, policy: Policy, fx: list[Effect]
) -> ConversationState:
    """The timeout's action; the customer is told first (a text, a template, or nothing
    outside the window)."""
    if rules.action == "transfer":
        automatic(state, "timeout", rules.timeout_text, rules.timeout_template, now, fx)
        fx.append(Journal("timeout", "transferred"))
        return start_session(state, now, policy, fx, "flow")
    if rules.action == "fallback_flow":
        target = policy.flows.get(rules.fallback_flow)
        if target is None:
            fx.append(Journal("timeout", "fallback_flow_missing", rules.fallback_flow))
            return state
        automatic(state, "timeout", rules.timeout_text, rules.timeout_template, now, fx)
        fx.append(Journal("timeout", "fallback_flow", target.id))
        return enter(replace(state, flow=None), target, target.start, now, policy, fx)
    automatic(state, "close", rules.close_text, rules.close_template, now, fx)
    fx.append(Journal("conversation", "closed", "inactivity"))
    return replace(state, status="closed", closed_reason="inactivity", flow=None)


def where(timer: PendingTimeout) -> str:
    """`flow.node`, for the journal and the log."""
    return ".".join(p for p in (timer.flow_id, timer.node_id) if p)


def timeout_deadlines(state: ConversationState) -> list[Deadline]:
    """`reminder` (until it is sent), then `timeout` (a question's) or `inactivity`."""
    timer = state.timeout
    if timer is None:
        return []
    found = []
    if timer.reminder_at is not None:
        found.append(Deadline("reminder", timer.reminder_at))
    found.append(Deadline("timeout" if timer.kind == "question" else "inactivity", timer.due_at))
    return found
