"""The HTTP answer to a session command: the session, or the error of the refusal."""

from __future__ import annotations

from aiohttp import web

from actors.conversation.outcome import Outcome
from gateway.access import may_see
from gateway.auth import Principal
from gateway.errors import ApiError, error_body
from gateway.jsonio import json_response

STATUS = {"not_found": 404, "unavailable": 503, "forbidden": 403}


def outcome_response(
    outcome: Outcome | None, principal: Principal, status: int = 200
) -> web.Response:
    """A session command's answer: the session, or the error (carrying the session only
    when the caller may see it)."""
    if outcome is None:
        raise ApiError(404, "not_found", "no such session")
    if outcome.ok:
        return json_response(outcome.session, status=status)
    body = error_body(outcome.code or "conflict", outcome.message)
    if outcome.session is not None and may_see(principal, outcome.session):
        body["session"] = outcome.session
    return json_response(body, status=STATUS.get(outcome.code or "", 409))
