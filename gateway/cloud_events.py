"""Meta Cloud API webhooks: the envelope decoded with msgspec, every batched array walked,
each update turned into an intake item with its dedupe key (PROTOCOL.md sections 1 and 3).

The envelope's shape is checked strictly (a bad one is a 400 naming the field). Each message,
status or echo is decoded on its own, so one malformed or unknown item is journaled and
ignored without losing the rest of the batch.
"""

from __future__ import annotations

from datetime import UTC, datetime
from hashlib import sha1
from typing import Any, Final

import msgspec

from actors.conversation.messages import AgentMessage, CustomerMessage, Identity
from actors.intake.items import IntakeItem
from gateway.cloud_payload import (
    Card,
    CardName,
    Change,
    Contact,
    Entry,
    Envelope,
    FlowReply,
    InMessage,
    Interactive,
    Media,
    Status,
    Value,
)
from gateway.raw_payload import decode_payload
from storage.content import (
    Audio,
    Button,
    ContactCard,
    Contacts,
    Content,
    Document,
    Edit,
    Email,
    Image,
    Location,
    Order,
    OrderItem,
    Phone,
    Reaction,
    Referral,
    Revoke,
    Sticker,
    System,
    Text,
    Unsupported,
    Video,
)
from storage.content import Interactive as InteractiveContent
from storage.rows import StatusRow

SOURCE: Final = "cloud"
KNOWN_TYPES = frozenset(
    {
        "text",
        "interactive",
        "button",
        "image",
        "video",
        "audio",
        "document",
        "sticker",
        "location",
        "contacts",
        "reaction",
        "order",
        "system",
        "unsupported",
        "revoke",
        "edit",
    }
)
STATUSES = frozenset({"sent", "delivered", "read", "played", "failed"})
OUTBOX_PREFIX = "outbox:"
INT64_MAX = 2**63 - 1  # the largest integer SQLite stores


_envelope = msgspec.json.Decoder(Envelope)
_value = msgspec.json.Decoder(Value)
_message = msgspec.json.Decoder(InMessage)
_status = msgspec.json.Decoder(Status)


def decode_envelope(raw: bytes) -> Envelope:
    """Raises msgspec.DecodeError (not JSON) or msgspec.ValidationError (wrong shape)."""
    return _envelope.decode(raw)


def parse_timestamp(value: str | int) -> datetime:
    """Unix seconds, as a string or a number; ValueError when it is neither or out of range."""
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (OverflowError, OSError) as exc:  # OSError: beyond the platform's time_t
        raise ValueError(f"timestamp out of range: {value!r}") from exc


def db_int(value: int | None) -> int | None:
    """`value` when SQLite can store it as an INTEGER, else None."""
    return value if value is not None and -INT64_MAX - 1 <= value <= INT64_MAX else None


def items_from(envelope: Envelope) -> list[IntakeItem]:
    items: list[IntakeItem] = []
    for entry in envelope.entry:
        for change in entry.changes:
            items.extend(_change_items(entry, change))
    return items


def history_values(envelope: Envelope) -> list[msgspec.Raw]:
    """The `value`s of the envelope's `history` changes (coexistence onboarding: the chats
    of the WhatsApp Business app, pushed once), imported before the webhook is answered."""
    return [c.value for e in envelope.entry for c in e.changes if c.field == "history"]


def _change_items(entry: Entry, change: Change) -> list[IntakeItem]:
    if change.field == "history":
        raw = bytes(change.value)
        return [_ignored("history", raw, "history", "imported", f"{len(raw)} bytes")]
    if change.field not in ("messages", "smb_message_echoes"):
        return [
            _ignored(
                f"field:{change.field}",
                bytes(change.value),
                "webhook",
                "ignored_field",
                change.field,
            )
        ]
    try:
        value = _value.decode(change.value)
    except (msgspec.ValidationError, RecursionError) as exc:
        return [_ignored("bad_value", bytes(change.value), "webhook", "invalid_value", str(exc))]
    business = value.metadata.phone_number_id if value.metadata else ""
    if not business:
        return [
            _ignored(
                "no_metadata",
                bytes(change.value),
                "webhook",
                "invalid_value",
                "missing metadata.phone_number_id",
            )
        ]
    contacts = value.contacts
    items = [_message_item(business, raw, contacts) for raw in value.messages]
    items += [_echo_item(business, raw) for raw in value.message_echoes]
    items += [_status_item(raw) for raw in value.statuses]
    for error in value.errors:
        detail = error.describe()
        key = f"{business}|{detail}|{entry.time}"
        items.append(_ignored("error", key.encode(), "provider_error", str(error.code), detail))
    return items


def _contact_of(msg: InMessage, contacts: list[Contact]) -> Contact | None:
    for contact in contacts:
        if (msg.sender and contact.wa_id == msg.sender) or (
            msg.from_user_id and contact.user_id == msg.from_user_id
        ):
            return contact
    return contacts[0] if len(contacts) == 1 else None


def _message_item(business: str, raw: msgspec.Raw, contacts: list[Contact]) -> IntakeItem:
    try:
        msg = _message.decode(raw)
        sent_at = parse_timestamp(msg.timestamp)
        payload = decode_payload(raw)
    except (msgspec.ValidationError, ValueError, OverflowError, RecursionError) as exc:
        return _ignored("bad_message", bytes(raw), "webhook", "invalid_message", str(exc))
    contact = _contact_of(msg, contacts)
    # Keyed on the phone where there is one: WATI events, Business-app echoes and statuses
    # carry the phone, so all of a customer's traffic meets in one conversation. Users who
    # hide their number (no `from`) are keyed on their business-scoped user id.
    bsuid = msg.from_user_id or (contact.user_id if contact else None)
    customer = msg.sender or bsuid
    if not customer:
        return _ignored(
            "no_sender", bytes(raw), "webhook", "invalid_message", "no from/from_user_id"
        )
    who = Identity(
        business_id=business,
        customer_id=customer,
        phone=msg.sender,
        name=contact.profile.name if contact and contact.profile else None,
        bsuid=bsuid,
    )
    kind = msg.type if msg.type in KNOWN_TYPES else "unknown"
    text, choice_id, choice_title = _choice(msg)
    key = f"wa:msg:{business}:{msg.id}"
    if msg.type == "reaction":
        emoji = (msg.reaction.emoji if msg.reaction else None) or "removed"
        key += f":{emoji}:{msg.timestamp}"
    context = msg.context
    event = CustomerMessage(
        who=who,
        provider=SOURCE,
        provider_message_id=msg.id,
        sent_at=sent_at,
        kind=kind,
        text=text,
        choice_id=choice_id,
        choice_title=choice_title,
        payload=payload,
        content=structure(msg),
        reply_to=context.id if context else None,
        forwarded=bool(context and (context.forwarded or context.frequently_forwarded)),
        referral=_referral(msg),
    )
    if kind in ("unknown", "unsupported") or msg.errors:
        detail = msg.type + "".join(f"; {e.describe()}" for e in msg.errors)
        return IntakeItem(
            key,
            SOURCE,
            event=event,
            note_step="webhook",
            note_status="unsupported_message",
            note_detail=detail,
        )
    return IntakeItem(key, SOURCE, event=event)


def _choice(msg: InMessage) -> tuple[str | None, str | None, str | None]:
    """(what the customer typed, the choice's id, its title), for the bot to read."""
    if msg.text is not None:
        return msg.text.body, None, None
    if msg.interactive is not None:
        reply = msg.interactive.button_reply or msg.interactive.list_reply
        if reply is not None:
            return None, reply.id, reply.title
        return None, None, None
    if msg.button is not None:
        return None, msg.button.payload, msg.button.text
    media = msg.image or msg.video or msg.document or msg.audio or msg.sticker
    if media is not None:
        return media.caption, None, None
    if msg.location is not None:
        return msg.location.name or msg.location.address, None, None
    return None, None, None


def structure(msg: InMessage) -> Content:
    """The message's content, whatever its type (an unknown type is `unsupported`)."""
    match msg.type:
        case "text" if msg.text is not None:
            return Text(body=msg.text.body or "", preview_url=msg.text.preview_url)
        case "image" | "video" | "audio" | "document" | "sticker":
            return _media(msg.type, getattr(msg, msg.type) or Media())
        case "location" if msg.location is not None:
            at = msg.location
            return Location(at.latitude, at.longitude, at.name, at.address, at.url)
        case "contacts":
            return Contacts(contacts=[_card(c) for c in msg.contacts])
        case "order" if msg.order is not None:
            items = [
                OrderItem(i.product_retailer_id, i.quantity, i.item_price, i.currency)
                for i in msg.order.product_items
            ]
            return Order(catalog_id=msg.order.catalog_id, text=msg.order.text, items=items)
        case "interactive" if msg.interactive is not None:
            return _interactive(msg.interactive)
        case "button" if msg.button is not None:
            return Button(payload=msg.button.payload, text=msg.button.text)
        case "reaction" if msg.reaction is not None:
            return Reaction(message_id=msg.reaction.message_id, emoji=msg.reaction.emoji or None)
        case "system" if msg.system is not None:
            sys = msg.system
            return System(
                kind=sys.type,
                body=sys.body,
                new_wa_id=sys.wa_id,
                previous_user_id=sys.previous_user_id,
                new_user_id=sys.new_user_id or sys.user_id,
            )
        case "revoke" if msg.revoke is not None:
            return Revoke(original_message_id=msg.revoke.original_message_id)
        case "edit" if msg.edit is not None:
            edited = msg.edit.message
            text = None
            if edited is not None:
                text = (edited.text.body if edited.text else None) or edited.caption
            return Edit(original_message_id=msg.edit.original_message_id, text=text)
    kind = msg.unsupported.type if msg.unsupported and msg.unsupported.type else msg.type
    return Unsupported(kind=kind, errors=[e.describe() for e in msg.errors])


def _media(kind: str, media: Media) -> Content:
    fields = {
        "media_id": media.id,
        "mime_type": media.mime_type,
        "sha256": media.sha256,
        "caption": media.caption,
        "filename": media.filename,
        "url": media.url,
    }
    if kind == "image":
        return Image(**fields)
    if kind == "video":
        return Video(**fields)
    if kind == "audio":
        return Audio(**fields, voice=media.voice)
    if kind == "document":
        return Document(**fields)
    return Sticker(**fields, animated=media.animated)


def _card(card: Card) -> ContactCard:
    name = card.name or CardName()
    org = card.org
    return ContactCard(
        name=name.formatted_name,
        first_name=name.first_name,
        last_name=name.last_name,
        organization=" - ".join(p for p in (org.company, org.title) if p) or None if org else None,
        phones=[Phone(p.phone, p.wa_id, p.type) for p in card.phones],
        emails=[Email(e.email, e.type) for e in card.emails],
        urls=[u.url for u in card.urls if u.url],
        addresses=[
            ", ".join(p for p in (a.street, a.city, a.state, a.zip, a.country) if p)
            for a in card.addresses
        ],
        birthday=card.birthday,
    )


def _interactive(reply: Interactive) -> Content:
    kind = reply.type or "unknown"
    chosen = reply.button_reply or reply.list_reply
    if chosen is not None:
        return InteractiveContent(
            reply_type=kind, id=chosen.id, title=chosen.title, description=chosen.description
        )
    if reply.nfm_reply is not None:
        flow = reply.nfm_reply
        return InteractiveContent(
            reply_type=kind, flow_name=flow.name, body=flow.body, answers=_answers(flow)
        )
    if reply.call_permission_reply is not None:
        answer = reply.call_permission_reply
        return InteractiveContent(
            reply_type=kind,
            accepted=None if answer.response is None else answer.response == "accept",
            expires_at=answer.expiration_timestamp,
        )
    return InteractiveContent(reply_type=kind)


def _answers(flow: FlowReply) -> dict[str, Any] | None:
    """A Flow's answers (its `response_json`, a JSON object in a string)."""
    if not flow.response_json:
        return None
    try:
        answers = decode_payload(flow.response_json)
    except (msgspec.DecodeError, RecursionError):
        return {"response_json": flow.response_json}
    return answers if isinstance(answers, dict) else {"response": answers}


def _referral(msg: InMessage) -> Referral | None:
    ad = msg.referral
    if ad is None:
        return None
    return Referral(**msgspec.structs.asdict(ad))


def _echo_item(business: str, raw: msgspec.Raw) -> IntakeItem:
    """`smb_message_echoes`: a human wrote from the WhatsApp Business app (coexistence)."""
    try:
        msg = _message.decode(raw)
        sent_at = parse_timestamp(msg.timestamp)
        payload = decode_payload(raw)
    except (msgspec.ValidationError, ValueError, OverflowError, RecursionError) as exc:
        return _ignored("bad_echo", bytes(raw), "webhook", "invalid_echo", str(exc))
    customer = msg.to or msg.to_user_id
    if not customer:
        return _ignored("echo_no_to", bytes(raw), "webhook", "invalid_echo", "no to/to_user_id")
    text, _, _ = _choice(msg)
    event = AgentMessage(
        who=Identity(
            business_id=business, customer_id=customer, phone=msg.to, bsuid=msg.to_user_id
        ),
        origin="business_app",
        provider_message_id=msg.id,
        sent_at=sent_at,
        kind=msg.type,
        text=text,
        payload=payload,
        content=structure(msg),
        reply_to=msg.context.id if msg.context else None,
    )
    return IntakeItem(f"wa:echo:{business}:{msg.id}", SOURCE, event=event)


def _status_item(raw: msgspec.Raw) -> IntakeItem:
    try:
        st = _status.decode(raw)
        at = parse_timestamp(st.timestamp)
    except (msgspec.ValidationError, ValueError, OverflowError, RecursionError) as exc:
        return _ignored("bad_status", bytes(raw), "webhook", "invalid_status", str(exc))
    if st.status not in STATUSES:
        return _ignored("status", bytes(raw), "webhook", "unknown_status", st.status)
    error = st.errors[0] if st.errors else None
    key = f"wa:st:{st.id}:{st.status}"
    if error is not None and error.code is not None:
        key += f":{error.code}"
    note = StatusRow(
        provider_message_id=st.id,
        status=st.status,
        at=at,
        outbox_id=_outbox_id(st.biz_opaque_callback_data),
        error_code=db_int(error.code) if error else None,
        error_detail=error.describe() if error else None,
    )
    return IntakeItem(key, SOURCE, status=note)


def _outbox_id(callback_data: str | None) -> int | None:
    """The outbox row id of `outbox:<digits>`; None for anything else (another app's data)."""
    if not callback_data or not callback_data.startswith(OUTBOX_PREFIX):
        return None
    digits = callback_data[len(OUTBOX_PREFIX) :]
    if not (digits.isascii() and digits.isdigit()):
        return None
    return db_int(int(digits))


def _ignored(kind: str, raw: bytes, step: str, status: str, detail: str) -> IntakeItem:
    digest = sha1(raw, usedforsecurity=False).hexdigest()
    return IntakeItem(
        f"wa:ignored:{kind}:{digest}",
        SOURCE,
        note_step=step,
        note_status=status,
        note_detail=detail[:500],
    )
