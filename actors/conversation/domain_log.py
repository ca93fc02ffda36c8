"""One log line per domain event of a step, at info, with the conversation id: a message
received (its type, never its text), a pause started or ended (and why), a session started,
assigned, released or ended, a message not answered (and why), a timeout's reminder and
action, an automatic message kept back by the closed 24-hour window. Written after the commit,
so a line tells what happened, not what was tried."""

from __future__ import annotations

from typing import Any

import structlog

from actors.conversation.effects import Annotate, AssignmentLog, Effect, Journal, Record

log = structlog.get_logger("conversation")

# Journal lines that are domain events: (step_type, status) -> (event, fields).
_JOURNAL: dict[tuple[str, str], tuple[str, dict[str, str]]] = {
    ("contracts_agent_detection", "conversation_paused"): ("pause_started", {"by": "agent"}),
    ("contracts_agent_detection", "conversation_pause_extended"): (
        "pause_extended",
        {"by": "agent"},
    ),
    ("manual_pause", "conversation_paused"): ("pause_started", {"by": "api"}),
    ("conversation_pause_expiry", "pause_expired"): ("pause_ended", {"reason": "expired"}),
    ("manual_pause", "pause_removed"): ("pause_ended", {"reason": "removed"}),
    ("conversation_pause_check", "check_failed"): ("pause_ended", {"reason": "check_failed"}),
    ("conversation_pause_check", "paused_by_agent"): (
        "message_not_answered",
        {"reason": "paused"},
    ),
    ("bot", "stale_message_not_answered"): ("message_not_answered", {"reason": "stale"}),
    ("automatic_message", "window_closed"): (
        "automatic_message_not_sent",
        {"reason": "window_closed"},
    ),
    ("automatic_message", "template_sent"): ("automatic_message_sent", {"as": "template"}),
    ("timeout", "reminder_sent"): ("timeout_reminder_sent", {}),
    ("timeout", "question_timeout"): ("timeout_fired", {"kind": "question"}),
    ("timeout", "inactivity_timeout"): ("timeout_fired", {"kind": "inactivity"}),
    ("timeout", "fallback_flow"): ("flow_fallback", {}),
    ("timeout", "fallback_flow_missing"): ("flow_fallback_failed", {"reason": "missing_flow"}),
    ("conversation", "closed"): ("conversation_closed", {}),
    ("conversation", "reopened"): ("conversation_reopened", {}),
    ("conversation", "archived"): ("conversation_archived", {}),
    ("conversation", "unarchived"): ("conversation_unarchived", {}),
    ("agent_session", "session_started"): ("session_started", {}),
    ("conversation", "number_changed"): ("customer_number_changed", {}),
}


def domain_events(conversation_id: str, effects: list[Effect]) -> None:
    for effect in effects:
        match effect:
            case Record(direction="in", sender_type="customer"):
                log.info(
                    "message_received",
                    conversation_id=conversation_id,
                    type=effect.kind,
                    session_id=effect.session_id,
                )
            case Record(sender_type="system", direction="in"):
                kind = getattr(effect.content, "kind", None)
                log.info("system_notice", conversation_id=conversation_id, kind=kind)
            case Annotate():
                log.info("message_changed", conversation_id=conversation_id, change=effect.change)
            case AssignmentLog(event="assigned"):
                log.info(
                    "session_assigned",
                    conversation_id=conversation_id,
                    session_id=effect.session_id,
                    operator_id=effect.operator_id,
                )
            case AssignmentLog(event="released", reason=reason) if reason != "ended":
                log.info(
                    "session_released",
                    conversation_id=conversation_id,
                    session_id=effect.session_id,
                    operator_id=effect.operator_id,
                    reason=reason,
                )
            case Journal():
                _journaled(conversation_id, effect)


def _journaled(conversation_id: str, line: Journal) -> None:
    fields: dict[str, Any] = {"conversation_id": conversation_id}
    if line.step_type == "agent_session" and line.status.startswith("session_ended_"):
        fields.update(session_id=line.detail, reason=line.status.removeprefix("session_ended_"))
        log.info("session_ended", **fields)
        return
    if line.step_type == "bot" and line.status == "not_answered":
        reason = "invalid_recipient" if "invalid recipient" in (line.detail or "") else "kind"
        log.info("message_not_answered", reason=reason, **fields)
        return
    known = _JOURNAL.get((line.step_type, line.status))
    if known is not None:
        event, extra = known
        if event == "session_started":
            session_id, _, by = (line.detail or "").partition(" by ")
            extra = {"session_id": session_id, "by": by}
        elif event == "timeout_reminder_sent":
            kind, _, where = (line.detail or "").partition(" ")
            extra = {"kind": kind, "at_node": where}
        elif event == "timeout_fired":
            action, _, where = (line.detail or "").partition(" ")
            extra = {**extra, "action": action, "at_node": where}
        elif event == "conversation_closed":
            extra = {"reason": line.detail or ""}
        elif event == "flow_fallback":
            extra = {"flow": line.detail or ""}
        elif event in ("conversation_archived", "conversation_unarchived"):
            reason, _, by = (line.detail or "").rpartition(" by ")
            extra = {"reason": reason, "by": by} if reason else {"by": by}
        elif event == "automatic_message_not_sent":
            extra = {**extra, "what": line.detail or ""}
        log.info(event, **fields, **extra)
