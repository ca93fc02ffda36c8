"""The Cloud API request body for one outbound message (PROTOCOL.md section 2.1)."""

from __future__ import annotations

from typing import Any

from actors.outbox.outbound import OutboundMessage

MAX_TEXT = 4096
MAX_BUTTONS_BODY = 1024
MAX_LIST_BODY = 4096
MAX_BUTTONS = 3
MAX_ROWS = 10


def recipient(to: str) -> str:
    """+E.164 for phone numbers (a bare number gets the business's country code prepended);
    business-scoped user ids (`US.123...`) go as they are. Only ASCII digits count:
    `str.isdigit()` alone also accepts e.g. Arabic-Indic digits and superscripts."""
    to = to.strip()
    return f"+{to}" if to.isascii() and to.isdigit() else to


def graph_body(message: OutboundMessage) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": recipient(message.to),
        "biz_opaque_callback_data": f"outbox:{message.outbox_id}",
    }
    if message.kind == "template" and message.template is not None:
        body["type"] = "template"
        body["template"] = template_body(message)
        return body
    if message.kind == "text" or not message.choices:
        body["type"] = "text"
        body["text"] = {"preview_url": False, "body": message.text[:MAX_TEXT]}
        return body
    # More than 3 choices cannot be reply buttons: send a list rather than drop choices.
    buttons = message.kind == "buttons" and len(message.choices) <= MAX_BUTTONS
    limit = MAX_BUTTONS_BODY if buttons else MAX_LIST_BODY
    interactive: dict[str, Any] = {"body": {"text": message.text[:limit]}}
    if message.header:
        interactive["header"] = {"type": "text", "text": message.header[:60]}
    if message.footer:
        interactive["footer"] = {"text": message.footer[:60]}
    if buttons:
        interactive["type"] = "button"
        interactive["action"] = {
            "buttons": [
                {"type": "reply", "reply": {"id": c.id, "title": c.title[:20]}}
                for c in message.choices
            ]
        }
    else:
        interactive["type"] = "list"
        rows = []
        for c in message.choices[:MAX_ROWS]:
            row = {"id": c.id, "title": c.title[:24]}
            if c.description:
                row["description"] = c.description[:72]
            rows.append(row)
        interactive["action"] = {
            "button": message.list_button[:20],
            "sections": [{"title": "Options", "rows": rows}],
        }
    body["type"] = "interactive"
    body["interactive"] = interactive
    return body


def template_body(message: OutboundMessage) -> dict[str, Any]:
    """A template with named parameters (PROTOCOL.md section 2.1)."""
    assert message.template is not None
    template: dict[str, Any] = {
        "name": message.template.name,
        "language": {"code": message.template.language},
    }
    if message.template.params:
        template["components"] = [
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "parameter_name": name, "text": value}
                    for name, value in message.template.params.items()
                ],
            }
        ]
    return template
