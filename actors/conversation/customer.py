"""What the customer sends, by kind: a message (recorded, then routed), a system notice
(a line, not a message: no unread, no 24-hour window; a changed number moves the
conversation), or a change to an earlier message (a reaction, a deletion, an edit)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from actors.conversation.effects import Annotate, Effect, Journal, Link, Record
from actors.conversation.messages import AgentMessage, CustomerMessage
from actors.conversation.state import ConversationState
from actors.conversation.summary import summary
from storage.content import Content, Edit, Reaction, Revoke, System, Text, Unsupported

replace = msgspec.structs.replace


def content_of(msg: CustomerMessage | AgentMessage) -> Content:
    """The message's content (events stored before content existed have only text)."""
    if msg.content is not None:
        return msg.content
    if msg.text is not None:
        return Text(body=msg.text)
    choice = msg.choice_title if isinstance(msg, CustomerMessage) else None
    return Unsupported(kind=msg.kind, text=choice)


def annotation(content: Content, by: Literal["customer", "agent"]) -> Annotate | None:
    """The change a reaction, deletion or edit makes to an earlier message (None for any
    other content, or one that names no message)."""
    match content:
        case Reaction(message_id=str(target)):
            return Annotate(target, "reaction", by, emoji=content.emoji)
        case Revoke(original_message_id=str(target)):
            return Annotate(target, "revoke", by)
        case Edit(original_message_id=str(target)):
            return Annotate(target, "edit", by, text=content.text)
    return None


def record(
    state: ConversationState, msg: CustomerMessage, content: Content, fx: list[Effect]
) -> None:
    """The customer's message, as stored: readable text, structure, raw payload."""
    fx.append(
        Record(
            "in",
            "customer",
            msg.kind,
            summary(content, msg.referral),
            msg.provider_message_id,
            payload=msg.payload,
            delivery_status="received",
            session_id=state.session.id if state.session is not None else None,
            content=content,
            reply_to=msg.reply_to,
            forwarded=msg.forwarded,
            referral=msg.referral,
        )
    )


def system_line(
    state: ConversationState,
    msg: CustomerMessage,
    content: System,
    now: datetime,
    fx: list[Effect],
) -> ConversationState:
    """A notice from WhatsApp: a system line. A changed number (or user id) moves the
    conversation: the new key leads here, and replies go to the new number."""
    fx.append(
        Record(
            "in",
            "system",
            "system",
            summary(content),
            msg.provider_message_id,
            payload=msg.payload,
            session_id=state.session.id if state.session is not None else None,
            content=content,
        )
    )
    fx.append(Journal("message_received", "system_line", content.kind))
    state = replace(state, last_activity_at=now)
    if content.kind == "user_changed_number" and content.new_wa_id:
        fx.append(Link("phone", content.new_wa_id))
        fx.append(Journal("conversation", "number_changed", "the customer has a new number"))
        state = replace(state, phone=content.new_wa_id)
    elif content.kind == "user_changed_user_id" and content.new_user_id:
        fx.append(Link("bsuid", content.new_user_id))
        fx.append(Journal("conversation", "user_id_changed", content.new_user_id))
        state = replace(state, bsuid=content.new_user_id)
    return state


def annotate(
    state: ConversationState, change: Annotate, now: datetime, fx: list[Effect]
) -> ConversationState:
    fx.append(change)
    fx.append(Journal("message_received", f"{change.change}_applied", change.provider_message_id))
    return replace(state, last_activity_at=now)
