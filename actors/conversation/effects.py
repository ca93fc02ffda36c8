"""What `step` asks the shell to do: plain data. Each becomes rows (or an answer, or an
event) in one place, `step_commit.build`, whose `match` is exhaustive: a new effect that is
not handled there is a type error."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from actors.conversation.events import ConversationPaused, ConversationResumed, QueueChange
from actors.outbox.outbound import Choice, TemplateSend
from storage.content import Content, Referral
from storage.views import SenderType, SessionView


class Send(msgspec.Struct, frozen=True):
    """Send a WhatsApp message to the customer (recorded, then queued in the outbox).

    `kind`: `text`, `buttons` (reply buttons, up to 3) or `list` (up to 10 rows).
    """

    text: str
    sender_type: SenderType = "bot"
    kind: Literal["text", "buttons", "list", "template"] = "text"
    choices: tuple[Choice, ...] = ()
    header: str | None = None
    footer: str | None = None
    list_button: str = "Choose"
    sender_id: str | None = None
    session_id: str | None = None
    template: TemplateSend | None = None  # sent as this template (outside the 24-hour window)


class Record(msgspec.Struct, frozen=True):
    """Store a message that was not sent by us (the customer's, an agent's from elsewhere),
    or a system line: `text` readable by a person, `content` its structure, `payload` the
    provider's message as it came."""

    direction: Literal["in", "out"]
    sender_type: SenderType
    kind: str
    text: str | None
    provider_message_id: str | None = None
    sender_id: str | None = None
    payload: dict[str, Any] | None = None
    delivery_status: str | None = None
    processed: bool = True
    session_id: str | None = None
    content: Content | None = None
    reply_to: str | None = None
    forwarded: bool = False
    referral: Referral | None = None


class Annotate(msgspec.Struct, frozen=True):
    """Change an earlier message of the conversation, by its provider id: a reaction (an
    emoji, or none to remove it), a deletion (`revoke`) or an edit (`text`)."""

    provider_message_id: str
    change: Literal["reaction", "revoke", "edit"]
    by: Literal["customer", "agent"] = "customer"
    emoji: str | None = None
    text: str | None = None


class Link(msgspec.Struct, frozen=True):
    """From now on, the customer key (`phone` or `bsuid`) leads to this conversation."""

    kind: Literal["phone", "bsuid"]
    key: str


class Journal(msgspec.Struct, frozen=True):
    """One line of the message journey."""

    step_type: str
    status: str
    detail: str | None = None


class Reply(msgspec.Struct, frozen=True):
    """The answer to an `ask`; `sent` names the Send of this step whose message the caller
    gets back (the shell fills in its id)."""

    value: Any
    sent: Send | None = None


class AssignmentLog(msgspec.Struct, frozen=True):
    """A line of `chat_assignments`: an operator got the chat, first replied, or let it go."""

    session_id: str
    operator_id: str
    event: Literal["assigned", "replied", "released"]
    reason: str | None = None


class Notify(msgspec.Struct, frozen=True):
    """An event for the dashboards and the desk (message events come from Send and Record)."""

    type: Literal[
        "session.created",
        "session.updated",
        "queue.changed",
        "conversation.paused",
        "conversation.resumed",
    ]
    data: SessionView | QueueChange | ConversationPaused | ConversationResumed


Effect = Send | Record | Annotate | Link | Journal | Reply | Notify | AssignmentLog
