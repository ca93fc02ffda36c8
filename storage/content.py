"""The structure of a message, whatever its type: what the API shows as `content`
(`{"type": ..., ...}`), decoded from the providers' payloads at the edge, stored with the
message, and read back as it was.

Every field a provider sends that a person could act on has a place here; the rest stays in
the raw payload, which is kept too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class _Content(msgspec.Struct, frozen=True, tag_field="type", omit_defaults=True):
    pass


class Text(_Content, frozen=True, tag="text"):
    body: str
    preview_url: bool | None = None


class _Media(_Content, frozen=True):
    media_id: str | None = None
    mime_type: str | None = None
    sha256: str | None = None
    caption: str | None = None
    filename: str | None = None
    url: str | None = None


class Image(_Media, frozen=True, tag="image"):
    pass


class Video(_Media, frozen=True, tag="video"):
    pass


class Audio(_Media, frozen=True, tag="audio"):
    voice: bool | None = None


class Document(_Media, frozen=True, tag="document"):
    pass


class Sticker(_Media, frozen=True, tag="sticker"):
    animated: bool | None = None


class Location(_Content, frozen=True, tag="location"):
    latitude: float | None = None
    longitude: float | None = None
    name: str | None = None
    address: str | None = None
    url: str | None = None


class Phone(msgspec.Struct, frozen=True, omit_defaults=True):
    phone: str | None = None
    wa_id: str | None = None
    type: str | None = None


class Email(msgspec.Struct, frozen=True, omit_defaults=True):
    email: str | None = None
    type: str | None = None


class ContactCard(msgspec.Struct, frozen=True, omit_defaults=True):
    """One shared contact (a vCard): its name, phones, e-mails, and the rest."""

    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    organization: str | None = None
    phones: list[Phone] = []
    emails: list[Email] = []
    urls: list[str] = []
    addresses: list[str] = []
    birthday: str | None = None


class Contacts(_Content, frozen=True, tag="contacts"):
    contacts: list[ContactCard] = []


class OrderItem(msgspec.Struct, frozen=True, omit_defaults=True):
    product_retailer_id: str | None = None
    quantity: float | None = None
    item_price: float | None = None
    currency: str | None = None


class Order(_Content, frozen=True, tag="order"):
    catalog_id: str | None = None
    text: str | None = None
    items: list[OrderItem] = []


class Interactive(_Content, frozen=True, tag="interactive"):
    """A reply to an interactive message: a reply button or list row (`id`, `title`,
    `description`), a WhatsApp Flow's answer (`nfm_reply`: `flow_name`, `answers`), or a
    call permission (`call_permission_reply`: `accepted`, `expires_at`)."""

    reply_type: str
    id: str | None = None
    title: str | None = None
    description: str | None = None
    flow_name: str | None = None
    body: str | None = None
    answers: dict[str, Any] | None = None
    accepted: bool | None = None
    expires_at: int | None = None


class Button(_Content, frozen=True, tag="button"):
    """A template's quick-reply button, tapped."""

    payload: str | None = None
    text: str | None = None


class Reaction(_Content, frozen=True, tag="reaction"):
    """A reaction to `message_id`; no emoji when it was removed."""

    message_id: str | None = None
    emoji: str | None = None


class System(_Content, frozen=True, tag="system"):
    """A notice from WhatsApp: `user_changed_number` (`new_wa_id`), `user_changed_user_id`
    (`new_user_id`), `customer_identity_changed`, ..."""

    kind: str | None = None
    body: str | None = None
    new_wa_id: str | None = None
    previous_user_id: str | None = None
    new_user_id: str | None = None


class Revoke(_Content, frozen=True, tag="revoke"):
    original_message_id: str | None = None


class Edit(_Content, frozen=True, tag="edit"):
    original_message_id: str | None = None
    text: str | None = None


class Template(_Content, frozen=True, tag="template"):
    """A template message (as WATI echoes the ones sent)."""

    name: str | None = None
    text: str | None = None


class Unsupported(_Content, frozen=True, tag="unsupported"):
    """A type WhatsApp does not deliver to the API (`kind`: poll_creation, gif, ...), or
    one this gateway does not know; `errors` as WhatsApp gave them."""

    kind: str | None = None
    errors: list[str] = []
    text: str | None = None


Content = (
    Text
    | Image
    | Video
    | Audio
    | Document
    | Sticker
    | Location
    | Contacts
    | Order
    | Interactive
    | Button
    | Reaction
    | System
    | Revoke
    | Edit
    | Template
    | Unsupported
)
MEDIA_TYPES = (Image, Video, Audio, Document, Sticker)


class Referral(msgspec.Struct, frozen=True, omit_defaults=True):
    """Where the customer came from: a Click-to-WhatsApp ad or post."""

    source_url: str | None = None
    source_type: str | None = None
    source_id: str | None = None
    headline: str | None = None
    body: str | None = None
    media_type: str | None = None
    image_url: str | None = None
    video_url: str | None = None
    thumbnail_url: str | None = None
    ctwa_clid: str | None = None


class MessageReaction(msgspec.Struct, frozen=True):
    """A reaction shown on a message: who (the customer), which emoji, when."""

    emoji: str
    by: str
    at: datetime
