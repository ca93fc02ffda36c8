"""Automatic messages (reminders, timeout and close texts, session notices): sent by the
gateway on its own, not in answer to the customer, so each checks the customer's 24-hour
window first. Inside it the text goes; outside it the template configured for the message,
or nothing, and the journal says `window_closed`. The gateway never earns a 131047."""

from __future__ import annotations

from datetime import datetime

from actors.conversation.effects import Effect, Journal, Send
from actors.conversation.state import ConversationState
from actors.flows.model import TemplateRef
from actors.flows.render import render
from actors.outbox.outbound import TemplateSend
from storage.views import SenderType


def automatic(
    state: ConversationState,
    what: str,
    text: str,
    template: TemplateRef | None,
    now: datetime,
    fx: list[Effect],
    *,
    sender_type: SenderType = "bot",
    session_id: str | None = None,
) -> None:
    """Send `text` (its `{variables}` filled) when the window is open; else `template`, or
    nothing but a journal line naming `what`."""
    if not text and template is None:
        return
    variables = state.variables
    if state.window_open(now):
        if text:
            fx.append(Send(render(text, variables), sender_type=sender_type, session_id=session_id))
        return
    if template is None:
        fx.append(Journal("automatic_message", "window_closed", what))
        return
    params = {k: render(v, variables) for k, v in template.params.items()}
    fx.append(
        Send(
            render(text, variables) or template.name,
            sender_type=sender_type,
            kind="template",
            session_id=session_id,
            template=TemplateSend(template.name, template.language, params),
        )
    )
    fx.append(Journal("automatic_message", "template_sent", f"{what}: {template.name}"))


def closed_window_gate(state: ConversationState, now: datetime, fx: list[Effect]) -> list[Effect]:
    """The last guard of a step that no customer message started: bot and system texts
    that would go outside the window are dropped (templates may go), and journaled."""
    if state.window_open(now):
        return fx
    kept: list[Effect] = [
        e
        for e in fx
        if not (isinstance(e, Send) and e.sender_type in ("bot", "system") and e.template is None)
    ]
    if len(kept) < len(fx):
        kept.append(Journal("automatic_message", "window_closed", f"{len(fx) - len(kept)} dropped"))
    return kept
