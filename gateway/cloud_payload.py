"""The Meta Cloud API webhook envelope as msgspec Structs (PROTOCOL.md sections 1.3-1.5).

Only what the gateway reads is declared; unknown fields are ignored (and kept in the raw
payload). The envelope is checked strictly; `value`s and their items stay raw until
`cloud_events` decodes them one by one.
"""

from __future__ import annotations

import msgspec


class Change(msgspec.Struct):
    field: str
    value: msgspec.Raw = msgspec.field(default_factory=lambda: msgspec.Raw(b"{}"))


class Entry(msgspec.Struct):
    changes: list[Change] = []
    id: str | None = None
    time: int | None = None


class Envelope(msgspec.Struct):
    entry: list[Entry]
    object: str = "whatsapp_business_account"


class Metadata(msgspec.Struct):
    phone_number_id: str = ""
    display_phone_number: str | None = None


class Profile(msgspec.Struct):
    name: str | None = None


class Contact(msgspec.Struct):
    wa_id: str | None = None
    user_id: str | None = None
    profile: Profile | None = None


class ErrorData(msgspec.Struct):
    details: str | None = None


class WaError(msgspec.Struct):
    code: int | None = None
    title: str | None = None
    message: str | None = None
    error_data: ErrorData | None = None

    def describe(self) -> str:
        details = self.error_data.details if self.error_data else None
        return " ".join(
            p for p in (str(self.code or ""), self.title or self.message or "", details or "") if p
        )


class Value(msgspec.Struct):
    metadata: Metadata | None = None
    contacts: list[Contact] = []
    messages: list[msgspec.Raw] = []
    statuses: list[msgspec.Raw] = []
    message_echoes: list[msgspec.Raw] = []
    errors: list[WaError] = []


class Body(msgspec.Struct):
    body: str | None = None
    preview_url: bool | None = None


class Reply(msgspec.Struct):
    id: str | None = None
    title: str | None = None
    description: str | None = None


class FlowReply(msgspec.Struct):
    """`nfm_reply`: a WhatsApp Flow's answers, as a JSON string."""

    name: str | None = None
    body: str | None = None
    response_json: str | None = None


class CallPermissionReply(msgspec.Struct):
    response: str | None = None
    expiration_timestamp: int | None = None


class Interactive(msgspec.Struct):
    type: str | None = None
    button_reply: Reply | None = None
    list_reply: Reply | None = None
    nfm_reply: FlowReply | None = None
    call_permission_reply: CallPermissionReply | None = None


class TemplateButton(msgspec.Struct):
    payload: str | None = None
    text: str | None = None


class Media(msgspec.Struct):
    id: str | None = None
    mime_type: str | None = None
    sha256: str | None = None
    caption: str | None = None
    filename: str | None = None
    url: str | None = None
    voice: bool | None = None
    animated: bool | None = None


class Location(msgspec.Struct):
    latitude: float | None = None
    longitude: float | None = None
    name: str | None = None
    address: str | None = None
    url: str | None = None


class CardName(msgspec.Struct):
    formatted_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class CardPhone(msgspec.Struct):
    phone: str | None = None
    wa_id: str | None = None
    type: str | None = None


class CardEmail(msgspec.Struct):
    email: str | None = None
    type: str | None = None


class CardOrg(msgspec.Struct):
    company: str | None = None
    department: str | None = None
    title: str | None = None


class CardUrl(msgspec.Struct):
    url: str | None = None


class CardAddress(msgspec.Struct):
    street: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None


class Card(msgspec.Struct):
    name: CardName | None = None
    phones: list[CardPhone] = []
    emails: list[CardEmail] = []
    org: CardOrg | None = None
    urls: list[CardUrl] = []
    addresses: list[CardAddress] = []
    birthday: str | None = None


class ProductItem(msgspec.Struct):
    product_retailer_id: str | None = None
    quantity: float | None = None
    item_price: float | None = None
    currency: str | None = None


class Order(msgspec.Struct):
    catalog_id: str | None = None
    text: str | None = None
    product_items: list[ProductItem] = []


class Reaction(msgspec.Struct):
    message_id: str | None = None
    emoji: str | None = None


class System(msgspec.Struct):
    body: str | None = None
    type: str | None = None
    wa_id: str | None = None
    user_id: str | None = None
    new_user_id: str | None = None
    previous_user_id: str | None = None


class Revoke(msgspec.Struct):
    original_message_id: str | None = None


class EditedMessage(msgspec.Struct):
    type: str | None = None
    text: Body | None = None
    caption: str | None = None


class Edit(msgspec.Struct):
    original_message_id: str | None = None
    message: EditedMessage | None = None


class Unsupported(msgspec.Struct):
    type: str | None = None


class Context(msgspec.Struct):
    id: str | None = None
    forwarded: bool | None = None
    frequently_forwarded: bool | None = None


class Referral(msgspec.Struct):
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


class InMessage(msgspec.Struct):
    id: str
    timestamp: str | int
    type: str = "unknown"
    sender: str | None = msgspec.field(name="from", default=None)
    from_user_id: str | None = None
    to: str | None = None
    to_user_id: str | None = None
    text: Body | None = None
    interactive: Interactive | None = None
    button: TemplateButton | None = None
    image: Media | None = None
    video: Media | None = None
    audio: Media | None = None
    document: Media | None = None
    sticker: Media | None = None
    location: Location | None = None
    contacts: list[Card] = []
    order: Order | None = None
    reaction: Reaction | None = None
    system: System | None = None
    revoke: Revoke | None = None
    edit: Edit | None = None
    unsupported: Unsupported | None = None
    context: Context | None = None
    referral: Referral | None = None
    errors: list[WaError] = []


class Status(msgspec.Struct):
    id: str
    status: str
    timestamp: str | int
    recipient_id: str | None = None
    recipient_user_id: str | None = None
    biz_opaque_callback_data: str | None = None
    errors: list[WaError] = []
