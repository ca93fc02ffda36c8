"""Meta Cloud API webhooks: the envelope decoded with msgspec, every batched array walked,
each update turned into an intake item with its dedupe key (PROTOCOL.md sections 1 and 3).

The envelope's shape is checked strictly (a bad one is a 400 naming the field). Each message,
status or echo is decoded on its own, so one malformed or unknown item is journaled and
ignored without losing the rest of the batch.
"""

from __future__ import annotations

from datetime import UTC, datetime
from hashlib import sha1
from typing import Final

import msgspec

from actors.conversation.messages import AgentMessage, CustomerMessage, Identity
from actors.intake.items import IntakeItem
from gateway.cloud_payload import (
    Change,
    Contact,
    Entry,
    Envelope,
    InMessage,
    Status,
    Value,
)
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
_any = msgspec.json.Decoder()


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


def _change_items(entry: Entry, change: Change) -> list[IntakeItem]:
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
    except msgspec.ValidationError as exc:
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
    except (msgspec.ValidationError, ValueError, OverflowError) as exc:
        return _ignored("bad_message", bytes(raw), "webhook", "invalid_message", str(exc))
    contact = _contact_of(msg, contacts)
    # Keyed on the phone where there is one: WATI events, Business-app echoes and statuses
    # carry the phone, so all of a customer's traffic meets in one conversation. Users who
    # hide their number (no `from`) are keyed on their business-scoped user id.
    customer = msg.sender or msg.from_user_id or (contact.user_id if contact else None)
    if not customer:
        return _ignored(
            "no_sender", bytes(raw), "webhook", "invalid_message", "no from/from_user_id"
        )
    who = Identity(
        business_id=business,
        customer_id=customer,
        phone=msg.sender,
        name=contact.profile.name if contact and contact.profile else None,
    )
    kind = msg.type if msg.type in KNOWN_TYPES else "unknown"
    text, choice_id, choice_title = _content(msg)
    key = f"wa:msg:{business}:{msg.id}"
    if msg.type == "reaction":
        emoji = (msg.reaction.emoji if msg.reaction else None) or "removed"
        key += f":{emoji}:{msg.timestamp}"
    payload = None if msg.type == "text" else _any.decode(raw)
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


def _content(msg: InMessage) -> tuple[str | None, str | None, str | None]:
    """(text, choice id, choice title) of a message, whatever its type."""
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
        return media.caption or media.filename, None, None
    if msg.location is not None:
        return msg.location.name or msg.location.address, None, None
    if msg.reaction is not None:
        return msg.reaction.emoji, None, None
    if msg.system is not None:
        return msg.system.body, None, None
    return None, None, None


def _echo_item(business: str, raw: msgspec.Raw) -> IntakeItem:
    """`smb_message_echoes`: a human wrote from the WhatsApp Business app (coexistence)."""
    try:
        msg = _message.decode(raw)
        sent_at = parse_timestamp(msg.timestamp)
    except (msgspec.ValidationError, ValueError, OverflowError) as exc:
        return _ignored("bad_echo", bytes(raw), "webhook", "invalid_echo", str(exc))
    customer = msg.to or msg.to_user_id
    if not customer:
        return _ignored("echo_no_to", bytes(raw), "webhook", "invalid_echo", "no to/to_user_id")
    text, _, _ = _content(msg)
    event = AgentMessage(
        who=Identity(business_id=business, customer_id=customer, phone=msg.to),
        origin="business_app",
        provider_message_id=msg.id,
        sent_at=sent_at,
        kind=msg.type,
        text=text,
    )
    return IntakeItem(f"wa:echo:{business}:{msg.id}", SOURCE, event=event)


def _status_item(raw: msgspec.Raw) -> IntakeItem:
    try:
        st = _status.decode(raw)
        at = parse_timestamp(st.timestamp)
    except (msgspec.ValidationError, ValueError, OverflowError) as exc:
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
