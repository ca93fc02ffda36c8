"""The mail a conversation actor understands: a tagged union of frozen Structs.

Inbound events are decoded once at the edge into these, stored in the inbox as msgpack,
and replayed from there after a crash.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from actors.runtime.codec import msgpack_encoder
from storage.content import Content, Referral


class Identity(msgspec.Struct, frozen=True):
    """Who the conversation is with: enough to create it on first contact.

    `customer_id` is the key the event came with: the phone where there is one, else the
    business-scoped user id (`bsuid`)."""

    business_id: str
    customer_id: str
    phone: str | None = None
    name: str | None = None
    bsuid: str | None = None


class CustomerMessage(msgspec.Struct, tag="customer_message", frozen=True):
    """The customer wrote (any type: text, a button or list choice, media, ...).

    `text` is what the customer typed (a body, a caption), which the bot reads; `content`
    the message's whole structure; `payload` the provider's message, raw."""

    who: Identity
    provider: Literal["cloud", "wati"]
    provider_message_id: str
    sent_at: datetime
    kind: str
    text: str | None = None
    choice_id: str | None = None
    choice_title: str | None = None
    external_conversation_id: str | None = None
    payload: dict[str, Any] | None = None
    content: Content | None = None
    reply_to: str | None = None
    forwarded: bool = False
    referral: Referral | None = None


class AgentMessage(msgspec.Struct, tag="agent_message", frozen=True):
    """A human (or the provider's API) wrote to the customer from another inbox.

    `origin`: `wati_session` (WATI `sessionMessageSent(_v2)`), `wati_template`
    (`templateMessageSent(_v2)`), `business_app` (Cloud API `smb_message_echoes`).
    """

    who: Identity
    origin: Literal["wati_session", "wati_template", "business_app"]
    provider_message_id: str
    sent_at: datetime
    owner: bool = True
    is_echo: bool = False
    kind: str = "text"
    text: str | None = None
    agent_email: str | None = None
    agent_name: str | None = None
    agent_assignee_id: str | None = None
    external_conversation_id: str | None = None
    payload: dict[str, Any] | None = None
    content: Content | None = None
    reply_to: str | None = None


InboundEvent = CustomerMessage | AgentMessage


class Wake(msgspec.Struct, tag="wake", frozen=True):
    """A deadline of this conversation fell due: handle everything that is due."""


class PauseRequest(msgspec.Struct, tag="pause_request", frozen=True):
    """Pause the bot now for `hours` (API), replacing any pause."""

    hours: float
    by: str | None = None


class ResumeRequest(msgspec.Struct, tag="resume_request", frozen=True):
    """Clear the pause now (API)."""

    by: str | None = None


class Ping(msgspec.Struct, tag="ping", frozen=True):
    """A barrier: answered once everything queued before it is processed."""


class StartSession(msgspec.Struct, tag="start_session", frozen=True):
    """Open a live-agent session (API); `who` creates the conversation if it is new."""

    who: Identity | None = None
    started_by: Literal["api", "flow", "customer"] = "api"


class Caller(msgspec.Struct, frozen=True):
    """Who sends a session command: an operator, and whether it may act on sessions it does
    not hold (supervisors and admins may)."""

    id: str
    may_override: bool = False


class Assign(msgspec.Struct, tag="assign", frozen=True):
    """Give the session to `operator_id` (the desk proposes; the conversation decides). Only
    a caller who may override assigns a chat to someone else."""

    session_id: str
    operator_id: str
    caller: Caller


class Release(msgspec.Struct, tag="release", frozen=True):
    """Put the session back in the queue: by the operator holding it, or one who may
    override."""

    session_id: str
    caller: Caller
    reason: str = "manual"


class EndSession(msgspec.Struct, tag="end_session", frozen=True):
    """End the session: by the operator holding it (reason `agent`), or one who may override
    (reason `supervisor` when it does not hold it)."""

    session_id: str
    caller: Caller


class AgentReply(msgspec.Struct, tag="agent_reply", frozen=True):
    """An operator writes to the customer: the one holding the session, or one who may
    override."""

    session_id: str
    caller: Caller
    text: str


class Archive(msgspec.Struct, tag="archive", frozen=True):
    """Archive the conversation (seed 002): marked now; the maintenance job then moves its
    messages into the archive. Refused while a live-agent session is open."""

    reason: str
    by: str = "job"


class Unarchive(msgspec.Struct, tag="unarchive", frozen=True):
    """Bring an archived conversation back, every message restored in the same commit."""

    by: str = "api"


class Adopt(msgspec.Struct, tag="adopt", frozen=True):
    """Make sure the conversation exists (created from `who` if new): history is about to
    be imported into it."""

    who: Identity


class MessagesRead(msgspec.Struct, tag="messages_read", frozen=True):
    """`count` of the customer's messages were marked read (`POST /api/messages/status`)."""

    count: int


SessionCommand = StartSession | Assign | Release | EndSession | AgentReply
MaintenanceCommand = Archive | Unarchive | MessagesRead | Adopt
Command = Wake | PauseRequest | ResumeRequest | Ping | SessionCommand | MaintenanceCommand
Message = InboundEvent | Command

_inbound_decoder = msgspec.msgpack.Decoder(InboundEvent)
_encoder = msgpack_encoder()


def encode_event(event: InboundEvent) -> bytes:
    return _encoder.encode(event)


def decode_event(blob: bytes) -> InboundEvent:
    event: InboundEvent = _inbound_decoder.decode(blob)
    return event
