"""The few JSON shapes of the API that are not a stored view as it is: a view with what the
route adds to it (all else is encoded straight from `storage.views`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from actors.conversation.messages import decode_event
from storage.views import (
    AssignmentView,
    InboxRecord,
    OperatorStats,
    OperatorView,
    PauseView,
    SessionView,
)


class PauseAnswer(msgspec.Struct, frozen=True):
    """`GET|PUT|DELETE /api/conversations/{id}/pause`: the pause, or nulls when none holds."""

    conversation_id: str
    paused: bool = False
    expires_at: datetime | None = None
    paused_at: datetime | None = None
    agent_email: str | None = None
    agent_name: str | None = None
    agent_assignee_id: str | None = None
    source: str | None = None
    by: str | None = None
    external_conversation_id: str | None = None
    removed: bool | None = None


def pause_answer(
    conversation_id: str, pause: PauseView | None, removed: bool | None = None
) -> PauseAnswer:
    if pause is None:
        return PauseAnswer(conversation_id, removed=removed)
    return PauseAnswer(
        conversation_id=conversation_id,
        paused=pause.paused,
        expires_at=pause.expires_at,
        paused_at=pause.paused_at,
        agent_email=pause.agent_email,
        agent_name=pause.agent_name,
        agent_assignee_id=pause.agent_assignee_id,
        source=pause.source,
        by=pause.by,
        external_conversation_id=pause.external_conversation_id,
        removed=removed,
    )


def with_fields(view: msgspec.Struct, **extra: Any) -> dict[str, Any]:
    """A view's fields with the route's own added (`GET /api/agent/sessions/{id}` adds its
    assignments, `stuck` the time in state, `operators` what each holds)."""
    return {**msgspec.structs.asdict(view), **extra}


def session_detail(
    session: SessionView,
    assignments: list[AssignmentView],
    window_expires_at: datetime | None,
    now: datetime,
) -> dict[str, Any]:
    return with_fields(
        session,
        assignments=assignments,
        window_expires_at=window_expires_at,
        window_open=window_expires_at is not None and now < window_expires_at,
        now=now,
    )


def operator_status(operator: OperatorView, chats: list[str]) -> dict[str, Any]:
    return with_fields(
        operator,
        current_chats=chats,
        current_chat=chats[0] if chats else None,
        state="busy" if chats else "free",
    )


def operator_stats(stats: OperatorStats, name: str | None) -> dict[str, Any]:
    return with_fields(
        stats,
        name=name,
        avg_response_seconds=_round(stats.avg_response_seconds),
        max_response_seconds=_round(stats.max_response_seconds),
    )


def raw_event(record: InboxRecord) -> dict[str, Any]:
    """A stored webhook event, with the provider's payload (`raw`) as it came."""
    raw: Any = None
    if record.payload is not None:
        try:
            raw = decode_event(record.payload).payload
        except msgspec.DecodeError:  # stored by a version that encoded it otherwise
            raw = None
    fields = {k: v for k, v in msgspec.structs.asdict(record).items() if k != "payload"}
    return {**fields, "raw": raw}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
