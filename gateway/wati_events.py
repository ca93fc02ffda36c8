"""WATI webhooks: one flat event per POST with an `eventType` (PROTOCOL.md section 4).

Event types are matched by family, so that every variant WATI adds (`_v2`, `_bsuid`, ...)
is understood: `message*` is the customer; `sessionMessageSent*` an agent or our own API send
(told apart by the ids and texts of our sends); `templateMessageSent*` a template;
`sentMessage*` and `*MessageFailed*` statuses of our sends. Anything else is journaled and
ignored.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from hashlib import sha1
from typing import Any, Final, Literal

import msgspec

from actors.conversation.messages import AgentMessage, CustomerMessage, Identity
from actors.intake.items import IntakeItem
from gateway.cloud_events import db_int, parse_timestamp
from gateway.providers.wati import outbox_id_of
from gateway.raw_payload import decode_payload
from storage.content import (
    Audio,
    Button,
    ContactCard,
    Contacts,
    Content,
    Document,
    Image,
    Interactive,
    Location,
    Order,
    Phone,
    Reaction,
    Sticker,
    Template,
    Text,
    Unsupported,
    Video,
)
from storage.rows import StatusRow

SOURCE: Final = "wati"
ECHO_WINDOW_SECONDS = 120
Family = Literal["customer", "session", "template", "status"]
_CUSTOMER = re.compile(r"message(_\w+)?")
_STATUS = {"DELIVERED": "delivered", "READ": "read", "REPLIED": "read"}

OwnSendCheck = Callable[[list[str], str | None, str | None, datetime], Awaitable[bool]]


def family(event_type: str) -> Family | None:
    """Which kind of event this is, by the family of its name; None: not one we handle."""
    if _CUSTOMER.fullmatch(event_type):
        return "customer"
    if "MessageFailed" in event_type or event_type.startswith("sentMessage"):
        return "status"
    if event_type.startswith("sessionMessageSent"):
        return "session"
    if event_type.startswith("templateMessageSent"):
        return "template"
    return None


def status_of(event_type: str) -> str | None:
    """The delivery status a status event reports (None: one we do not track)."""
    if "MessageFailed" in event_type:
        return "failed"
    word = event_type.removeprefix("sentMessage").split("_")[0]
    return _STATUS.get(word.upper())


class Reply(msgspec.Struct):
    id: str | None = None
    title: str | None = None
    description: str | None = None
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
    forwarded: bool | None = None
    frequentlyForwarded: bool | None = None
    templateName: str | None = None
    channelPhoneNumber: str | None = None
    failedCode: str | int | None = None
    failedDetail: str | None = None
    # The event as it came (kept whole as the message's payload); no wire field has this name.
    parsed: dict[str, Any] = msgspec.field(default_factory=dict, name="__parsed__")


class _Kind(msgspec.Struct):
    eventType: str


def decode_event(raw: bytes) -> WatiEvent:
    """Raises msgspec.DecodeError (not JSON) or msgspec.ValidationError (wrong shape).

    The body is parsed once. Only the events we handle are held to our shape: another event
    type whose fields differ decodes to its bare `eventType`, so it is ignored with a 200
    rather than refused (a refused event is retried for a day and can get the webhook
    flagged as defective)."""
    parsed = decode_payload(raw)
    kind = msgspec.convert(parsed, _Kind).eventType
    if family(kind) is None:
        return WatiEvent(eventType=kind)
    event = msgspec.convert(parsed, WatiEvent)
    return msgspec.structs.replace(event, parsed=parsed)


class MissingField(ValueError):
    """A WATI event lacks a field it cannot do without."""

    def __init__(self, field: str) -> None:
        super().__init__(f"missing field {field}")
        self.field = field


async def items_from(
    event: WatiEvent, raw: bytes, business: str, now: datetime, is_own_send: OwnSendCheck
) -> list[IntakeItem]:
    match family(event.eventType):
        case "customer":
            return [_customer(event, business, now)]
        case "session" | "template":
            return [await _agent(event, business, now, is_own_send)]
        case "status":
            status = status_of(event.eventType)
            if status is not None:
                return [_status(event, status, now)]
    digest = sha1(raw, usedforsecurity=False).hexdigest()
    return [
        IntakeItem(
            f"wati:ignored:{digest}",
            SOURCE,
            note_step="webhook",
            note_status="ignored_event",
            note_detail=event.eventType[:200],
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


def _who(event: WatiEvent, business: str, name: str | None = None) -> Identity:
    """Keyed on the phone where the event has one, else on the BSUID."""
    customer = event.waId or event.bsuid
    if not customer:
        raise MissingField("waId")
    return Identity(
        business_id=business, customer_id=customer, phone=event.waId, name=name, bsuid=event.bsuid
    )


def _message_id(event: WatiEvent) -> str:
    message_id = event.whatsappMessageId or event.id or event.localMessageId
    if not message_id:
        raise MissingField("whatsappMessageId")
    return message_id


def structure(event: WatiEvent) -> Content:
    """The message's content from WATI's flat fields (`type`, `text`, `data`, replies)."""
    kind = (event.type or "text").lower()
    text, data = event.text, event.data
    url = data if isinstance(data, str) else None
    reply = event.interactiveButtonReply or event.listReply
    match kind:
        case "text":
            return Text(body=text or "")
        case "image":
            return Image(url=url, caption=text)
        case "video":
            return Video(url=url, caption=text)
        case "sticker":
            return Sticker(url=url)
        case "audio" | "voice":
            return Audio(url=url, caption=text, voice=kind == "voice" or None)
        case "document":
            return Document(url=url, filename=text)  # WATI puts the file's name in `text`
        case "location":
            return _location(data, text)
        case "contacts":
            return Contacts(contacts=_cards(data, text))
        case "interactive" if reply is not None:
            return Interactive(
                reply_type="list_reply" if event.listReply else "button_reply",
                id=reply.id or reply.payload,
                title=reply.title or reply.text,
                description=reply.description,
            )
        case "button" if event.buttonReply is not None:
            return Button(payload=event.buttonReply.payload, text=event.buttonReply.text or text)
        case "reaction":
            return Reaction(message_id=event.replyContextId or None, emoji=text or None)
        case "order":
            return Order(text=text)
        case "template":
            return Template(name=event.templateName, text=text)
    return Unsupported(kind=kind, text=text)


def _location(data: Any, text: str | None) -> Location:
    if isinstance(data, dict):
        lat, lon = data.get("latitude", data.get("lat")), data.get("longitude", data.get("long"))
        return Location(
            latitude=float(lat) if isinstance(lat, int | float) else None,
            longitude=float(lon) if isinstance(lon, int | float) else None,
            name=data.get("name") if isinstance(data.get("name"), str) else None,
            address=data.get("address") if isinstance(data.get("address"), str) else text,
        )
    return Location(name=text)


def _cards(data: Any, text: str | None) -> list[ContactCard]:
    cards = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
    found = []
    for card in cards:
        if not isinstance(card, dict):
            continue
        name = card.get("name")
        if isinstance(name, dict):
            name = name.get("formatted_name") or name.get("formattedName")
        listed = card.get("phones")
        phones: list[Any] = listed if isinstance(listed, list) else []
        found.append(
            ContactCard(
                name=name if isinstance(name, str) else None,
                phones=[
                    Phone(phone=p.get("phone"), wa_id=p.get("wa_id") or p.get("waId"))
                    for p in phones
                    if isinstance(p, dict)
                ],
            )
        )
    return found or [ContactCard(name=text)]


def _customer(event: WatiEvent, business: str, now: datetime) -> IntakeItem:
    message_id = _message_id(event)
    reply = event.interactiveButtonReply or event.listReply or event.buttonReply
    choice_id = (reply.id or reply.payload) if reply else None
    choice_title = (reply.title or reply.text) if reply else None
    text = event.text if not reply else None
    msg = CustomerMessage(
        who=_who(event, business, event.senderName),
        provider=SOURCE,
        provider_message_id=message_id,
        sent_at=_sent_at(event, now),
        kind=event.type or "text",
        text=text,
        choice_id=choice_id,
        choice_title=choice_title,
        external_conversation_id=event.conversationId,
        payload=event.parsed or None,
        content=structure(event),
        reply_to=event.replyContextId or None,
        forwarded=bool(event.forwarded or event.frequentlyForwarded),
    )
    return IntakeItem(f"wati:msg:{message_id}", SOURCE, event=msg)


async def _agent(
    event: WatiEvent, business: str, now: datetime, is_own_send: OwnSendCheck
) -> IntakeItem:
    message_id = _message_id(event)
    who = _who(event, business)
    template = family(event.eventType) == "template"
    ids = [i for i in (event.localMessageId, event.whatsappMessageId, event.id) if i]
    sent_at = _sent_at(event, now)
    # Our send's window is counted back from when WATI sent the message, not from when the
    # event reached us: WATI retries every 10 minutes, and a late echo is still our own.
    echo = await is_own_send(ids, who.phone or who.customer_id, event.text, min(sent_at, now))
    msg = AgentMessage(
        who=who,
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
        payload=event.parsed or None,
        content=structure(event),
        reply_to=event.replyContextId or None,
    )
    kind = "tpl" if template else "sent"
    return IntakeItem(f"wati:{kind}:{message_id}", SOURCE, event=msg)


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
        outbox_id=outbox_id_of(event.localMessageId),
        error_code=code,
        error_detail=event.failedDetail,
    )
    return IntakeItem(f"wati:st:{message_id}:{status}", SOURCE, status=note)
