"""WATI webhooks: one flat event per POST with an `eventType` (PROTOCOL.md section 4).

`message` is the customer; `sessionMessageSent(_v2)` an agent or our own API send (told
apart by the ids and texts of our sends); `templateMessageSent(_v2)` a template; the
`sentMessage*` and `*Failed` events are statuses of our sends. Anything else is journaled
and ignored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from hashlib import sha1
from typing import Any, Final

import msgspec

from actors.conversation.messages import AgentMessage, CustomerMessage, Identity
from actors.intake.items import IntakeItem
from gateway.cloud_events import db_int, parse_timestamp
from storage.rows import StatusRow

SOURCE: Final = "wati"
CUSTOMER = frozenset({"message", "message_bsuid"})
SESSION_SENT = frozenset(
    {
        "sessionMessageSent",
        "sessionMessageSent_v2",
        "sessionMessageSent_bsuid",
    }
)
TEMPLATE_SENT = frozenset(
    {
        "templateMessageSent",
        "templateMessageSent_v2",
        "templateMessageSent_v2_bsuid",
    }
)
STATUS = {
    "sentMessageDELIVERED": "delivered",
    "sentMessageDELIVERED_v2": "delivered",
    "sentMessageREAD": "read",
    "sentMessageREAD_v2": "read",
    "sessionMessageFailed": "failed",
    "templateMessageFailed": "failed",
}
KNOWN = CUSTOMER | SESSION_SENT | TEMPLATE_SENT | STATUS.keys()
ECHO_WINDOW_SECONDS = 120

OwnSendCheck = Callable[[list[str], str | None, str | None, datetime], Awaitable[bool]]


class Reply(msgspec.Struct):
    id: str | None = None
    title: str | None = None
    payload: str | None = None
    text: str | None = None


class WatiEvent(msgspec.Struct):
    eventType: str
    id: str | None = None
    whatsappMessageId: str | None = None
    localMessageId: str | None = None
    conversationId: str | None = None
    text: str | None = None
    type: str | None = None
    data: Any = None
    timestamp: str | int | None = None
    created: str | None = None
    owner: bool | None = None
    operatorEmail: str | None = None
    operatorName: str | None = None
    assigneeId: str | None = None
    assignedId: str | None = None
    waId: str | None = None
    bsuid: str | None = None
    senderName: str | None = None
    listReply: Reply | None = None
    interactiveButtonReply: Reply | None = None
    buttonReply: Reply | None = None
    replyContextId: str | None = None
    failedCode: str | int | None = None
    failedDetail: str | None = None


class _Kind(msgspec.Struct):
    eventType: str


_decoder = msgspec.json.Decoder(WatiEvent)
_kind_decoder = msgspec.json.Decoder(_Kind)


def decode_event(raw: bytes) -> WatiEvent:
    """Raises msgspec.DecodeError (not JSON) or msgspec.ValidationError (wrong shape).

    Only the events we handle are held to our shape: another event type whose fields differ
    decodes to its bare `eventType`, so it is ignored with a 200 rather than refused (a
    refused event is retried for a day and can get the webhook flagged as defective)."""
    try:
        return _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        try:
            kind = _kind_decoder.decode(raw).eventType
        except msgspec.ValidationError:
            raise exc from None
        if kind in KNOWN:
            raise
        return WatiEvent(eventType=kind)


class MissingField(ValueError):
    """A WATI event lacks a field it cannot do without."""

    def __init__(self, field: str) -> None:
        super().__init__(f"missing field {field}")
        self.field = field


async def items_from(
    event: WatiEvent, raw: bytes, business: str, now: datetime, is_own_send: OwnSendCheck
) -> list[IntakeItem]:
    kind = event.eventType
    if kind in CUSTOMER:
        return [_customer(event, business, now)]
    if kind in SESSION_SENT or kind in TEMPLATE_SENT:
        return [await _agent(event, business, now, is_own_send)]
    if kind in STATUS:
        return [_status(event, STATUS[kind], now)]
    digest = sha1(raw, usedforsecurity=False).hexdigest()
    return [
        IntakeItem(
            f"wati:ignored:{digest}",
            SOURCE,
            note_step="webhook",
            note_status="ignored_event",
            note_detail=kind,
        )
    ]


def _sent_at(event: WatiEvent, now: datetime) -> datetime:
    if event.timestamp not in (None, ""):
        try:
            return parse_timestamp(event.timestamp)
        except (ValueError, OverflowError):
            pass
    if event.created:
        try:
            at = datetime.fromisoformat(event.created.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:  # a naive time could not be compared with the aware ones everywhere else
            return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return now


def _who(event: WatiEvent, business: str) -> Identity:
    customer = event.bsuid or event.waId
    if not customer:
        raise MissingField("waId")
    return Identity(
        business_id=business, customer_id=customer, phone=event.waId, name=event.senderName
    )


def _message_id(event: WatiEvent) -> str:
    message_id = event.whatsappMessageId or event.id or event.localMessageId
    if not message_id:
        raise MissingField("whatsappMessageId")
    return message_id


def _customer(event: WatiEvent, business: str, now: datetime) -> IntakeItem:
    message_id = _message_id(event)
    reply = event.interactiveButtonReply or event.listReply or event.buttonReply
    choice_id = (reply.id or reply.payload) if reply else None
    choice_title = (reply.title or reply.text) if reply else None
    text = event.text if not reply else None
    payload = None if event.data is None else {"data": event.data}
    msg = CustomerMessage(
        who=_who(event, business),
        provider=SOURCE,
        provider_message_id=message_id,
        sent_at=_sent_at(event, now),
        kind=event.type or "text",
        text=text,
        choice_id=choice_id,
        choice_title=choice_title,
        external_conversation_id=event.conversationId,
        payload=payload,
    )
    return IntakeItem(f"wati:msg:{message_id}", SOURCE, event=msg)


async def _agent(
    event: WatiEvent, business: str, now: datetime, is_own_send: OwnSendCheck
) -> IntakeItem:
    message_id = _message_id(event)
    who = _who(event, business)
    template = event.eventType in TEMPLATE_SENT
    ids = [i for i in (event.localMessageId, event.whatsappMessageId, event.id) if i]
    sent_at = _sent_at(event, now)
    # Our send's window is counted back from when WATI sent the message, not from when the
    # event reached us: WATI retries every 10 minutes, and a late echo is still our own.
    echo = await is_own_send(ids, who.phone or who.customer_id, event.text, min(sent_at, now))
    msg = AgentMessage(
        who=Identity(business_id=business, customer_id=who.customer_id, phone=who.phone),
        origin="wati_template" if template else "wati_session",
        provider_message_id=message_id,
        sent_at=sent_at,
        owner=bool(event.owner) if event.owner is not None else True,
        is_echo=echo,
        kind=event.type or "text",
        text=event.text,
        agent_email=event.operatorEmail,
        agent_name=event.operatorName,
        agent_assignee_id=event.assigneeId or event.assignedId,
        external_conversation_id=event.conversationId or None,
    )
    family = "tpl" if template else "sent"
    return IntakeItem(f"wati:{family}:{message_id}", SOURCE, event=msg)


def _status(event: WatiEvent, status: str, now: datetime) -> IntakeItem:
    message_id = _message_id(event)
    code: int | None = None
    if event.failedCode not in (None, ""):
        try:
            code = db_int(int(event.failedCode))
        except ValueError:
            code = None
    note = StatusRow(
        provider_message_id=message_id,
        status=status,
        at=_sent_at(event, now),
        error_code=code,
        error_detail=event.failedDetail,
    )
    return IntakeItem(f"wati:st:{message_id}:{status}", SOURCE, status=note)
