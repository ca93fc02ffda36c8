"""The HTTP answer to a session command: the session, or the error of the refusal."""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from actors.conversation.assignment import Outcome
from gateway.access import may_see
from gateway.auth import Principal
from gateway.errors import ApiError, error_response
from gateway.jsonio import json_response

STATUS = {"not_found": 404, "unavailable": 503}


def session_view(row: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "id",
        "conversation_id",
        "phone_number",
        "customer_name",
        "status",
        "chat_state",
        "agent_id",
        "last_operator_id",
        "started_by",
        "started_at",
        "accepted_at",
        "operator_replied_at",
        "expires_at",
        "ended_at",
        "end_reason",
        "state_since",
    )
    return {k: row.get(k) for k in keys}


def outcome_response(
    outcome: Outcome | None, principal: Principal, status: int = 200
) -> web.Response:
    """A session command's answer: the session, or the error (carrying the session only
    when the caller may read it)."""
    if outcome is None:
        raise ApiError(404, "not_found", "no such session")
    if outcome.ok:
        assert outcome.session is not None
        return json_response(session_view(outcome.session), status=status)
    response = error_response(
        STATUS.get(outcome.code or "", 409), outcome.code or "conflict", outcome.message
    )
    if outcome.session is not None and may_see(principal, outcome.session):
        body = msgspec.json.decode(response.body)  # type: ignore[arg-type]
        body["session"] = session_view(outcome.session)
        return json_response(body, status=response.status)
    return response
