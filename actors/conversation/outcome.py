"""The answer to a session command: done (with the session), or why not (`code`)."""

from __future__ import annotations

import msgspec

from storage.views import MessageView, SessionView

# Why a command is refused: not_found, session_ended, session_open, not_held,
# held_by_other, awaiting_customer, window_closed, forbidden, already_assigned, unavailable.


class Outcome(msgspec.Struct, frozen=True):
    ok: bool
    code: str | None = None
    message: str = ""
    session: SessionView | None = None
    sent: MessageView | None = None  # the message the command sent (an operator's reply)


def refused(code: str, message: str, session: SessionView | None = None) -> Outcome:
    """A refusal; `session` is shown only to callers who may see it (the edge decides)."""
    return Outcome(False, code, message, session)
