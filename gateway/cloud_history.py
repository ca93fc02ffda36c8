"""The Cloud API `history` webhook field (coexistence onboarding): the WhatsApp Business
app's past chats, pushed by Meta in chunks, decoded into `HistoryMessage`s.

What the sources say (none is a JSON schema; fields are read defensively):

* Meta, "history webhook reference" (developers.facebook.com/documentation/business-messaging/
  whatsapp/webhooks/reference/history/, updated 2026-05-21; a copy dated 2025-12-12 at
  support.chatarchitect.com): history is synchronised "within 180 days of the time when the
  business was onboarded"; "Messages that are part of a group chat will not be included";
  "Media messages will not include media asset IDs. Instead, additional history webhooks
  containing media message asset IDs will be sent separately, but only for media messages
  sent within 14 days of onboarding"; "a single webhook could potentially describe thousands
  of messages". Phases: 0 = day 0-1, 1 = day 1-90, 2 = day 90-180; "use the chunk_order
  parameter value to arrange these chunks in their sequential order, as they may not be
  delivered sequentially"; "progress ... A value of 100 indicates that synchronization is
  complete". [verified: doc text]
* 360dialog, "Coexistence Webhooks" (docs.360dialog.com/partner/.../coexistence-webhooks):
  `value.history[].metadata {phase, chunk_order, progress}`, `threads[] {id:
  "<WHATSAPP_USER_PHONE_NUMBER>", messages[] {from: "<BUSINESS_OR_WHATSAPP_USER_PHONE_NUMBER>",
  ...}}`. [verified: example structure]
* dualhook.com/docs/webhook-history: the same envelope under `field: "history"` with integer
  `phase: 0, chunk_order: 1, progress: 55`, messages `{from, id (wamid), timestamp: "1739230955",
  type}`; media first arrive as `type: "media_placeholder"`; a business that declined sharing
  gives `history[].errors[]`, "commonly code 2593109". [verified: third-party doc]
* `history_context.status`, uppercase: SENT, DELIVERED, READ, PLAYED, ERROR, PENDING, as read by
  several independent integrations in the code index (a TypeScript test fixture with
  `history_context: {status: "READ"}` on both a business and a customer message, a comment
  "UPPERCASE, per the history webhook reference"); one field report saw lowercase `"pending"`
  on a contact's messages, so case is ignored. The media-id follow-up arrives under
  `value.messages[]` with the same wamid as the placeholder. [third-party; the Meta page's
  parameter table was not read: unverified against Meta]
* Whether `history_context` also says who sent a message: not found (unverified); direction
  is read from `from` (the business number, or anyone but the thread's user) and `to`.

One malformed chunk, thread or message is skipped with a reason (`Skipped`), never fatal.
Message content is decoded by `cloud_events.structure`, exactly as live messages are.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from actors.maintenance.history import HistoryMessage, readable
from gateway.cloud_events import KNOWN_TYPES, parse_timestamp, structure
from gateway.cloud_payload import InMessage, Metadata, WaError
from storage.content import Content, Unsupported

DECLINED: Final = 2593109  # "History sync is turned off by the business" (dualhook, [T])
PLACEHOLDER: Final = "media_placeholder"
_STATUS: Final = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "played": "played",  # kept: the store ranks it above read (and sets read_at)
    "error": "failed",
    "failed": "failed",
    "pending": "pending",
}
_ERRORS = (msgspec.ValidationError, msgspec.DecodeError, ValueError, OverflowError, RecursionError)


class ChunkMeta(msgspec.Struct):
    phase: int | str | None = None
    chunk_order: int | str | None = None
    progress: int | str | None = None


class _Thread(msgspec.Struct):
    id: str | None = None
    messages: list[msgspec.Raw] = []


class _Chunk(msgspec.Struct):
    metadata: ChunkMeta | None = None
    threads: list[msgspec.Raw] = []
    errors: list[WaError] = []


class _Value(msgspec.Struct):
    metadata: Metadata | None = None
    history: list[msgspec.Raw] = []
    messages: list[msgspec.Raw] = []


class _Context(msgspec.Struct):
    status: str | None = None


class _Extra(msgspec.Struct):
    history_context: _Context | None = None


class Chunk(msgspec.Struct, frozen=True):
    """One `history[]` item's place in the sync: phase 0-2, order within it, overall
    progress (100 = done), how many messages it held, and its errors (`declined` when the
    business turned sharing off)."""

    phase: int | None
    chunk_order: int | None
    progress: int | None
    messages: int
    errors: list[str] = []
    declined: bool = False


class Skipped(msgspec.Struct, frozen=True):
    reason: str
    detail: str


class CloudHistory(msgspec.Struct, frozen=True):
    """A decoded `history` change. `messages` are (customer phone, message), in payload
    order; `media` are the separate media-id follow-ups for earlier placeholders (same
    wamid: update, do not add); `skipped` says what could not be read and why."""

    business_id: str
    messages: list[tuple[str, HistoryMessage]] = []
    chunks: list[Chunk] = []
    media: list[tuple[str, HistoryMessage]] = []
    skipped: list[Skipped] = []


_value = msgspec.json.Decoder(_Value)
_chunk = msgspec.json.Decoder(_Chunk)
_thread = msgspec.json.Decoder(_Thread)
_message = msgspec.json.Decoder(InMessage)
_extra = msgspec.json.Decoder(_Extra)


def decode_history(value: bytes | msgspec.Raw | dict[str, Any]) -> CloudHistory:
    """The `value` of a `field: "history"` change (raw bytes or already parsed)."""
    try:
        raw = msgspec.json.encode(value) if isinstance(value, dict) else bytes(value)
        decoded = _value.decode(raw)
    except _ERRORS as exc:
        return CloudHistory("", skipped=[Skipped("invalid_value", _short(exc))])
    business = decoded.metadata.phone_number_id if decoded.metadata else ""
    if not business:
        return CloudHistory("", skipped=[Skipped("no_metadata", "no metadata.phone_number_id")])
    own = _digits(decoded.metadata.display_phone_number if decoded.metadata else None)
    reader = _Reader(own)
    chunks = [c for c in (reader.chunk(raw_chunk) for raw_chunk in decoded.history) if c]
    media = [m for m in (reader.message(r, None) for r in decoded.messages) if m]
    return CloudHistory(business, reader.found, chunks, media, reader.skipped)


class _Reader:
    """Walks one value, collecting messages and the reasons for what it skipped."""

    def __init__(self, own_number: str | None) -> None:
        self.own = own_number
        self.found: list[tuple[str, HistoryMessage]] = []
        self.skipped: list[Skipped] = []

    def chunk(self, raw: msgspec.Raw) -> Chunk | None:
        try:
            chunk = _chunk.decode(raw)
        except _ERRORS as exc:
            self.skipped.append(Skipped("invalid_chunk", _short(exc)))
            return None
        before = len(self.found)
        for raw_thread in chunk.threads:
            self._thread(raw_thread)
        meta = chunk.metadata or ChunkMeta()
        return Chunk(
            phase=_int(meta.phase),
            chunk_order=_int(meta.chunk_order),
            progress=_int(meta.progress),
            messages=len(self.found) - before,
            errors=[e.describe() for e in chunk.errors],
            declined=any(e.code == DECLINED for e in chunk.errors),
        )

    def _thread(self, raw: msgspec.Raw) -> None:
        try:
            thread = _thread.decode(raw)
        except _ERRORS as exc:
            self.skipped.append(Skipped("invalid_thread", _short(exc)))
            return
        for raw_message in thread.messages:
            found = self.message(raw_message, thread.id)
            if found is not None:
                self.found.append(found)

    def message(self, raw: msgspec.Raw, thread: str | None) -> tuple[str, HistoryMessage] | None:
        try:
            msg = _message.decode(raw)
            at = parse_timestamp(msg.timestamp)
            extra = _extra.decode(raw)
        except _ERRORS as exc:
            self.skipped.append(Skipped("invalid_message", _short(exc)))
            return None
        out = self._outbound(msg, thread)
        phone = thread or (msg.to if out else msg.sender)
        if not phone:
            self.skipped.append(Skipped("no_customer", f"{msg.id}: no thread id, from or to"))
            return None
        context = extra.history_context
        content = _content(msg)
        text = "[media]" if msg.type == PLACEHOLDER else readable(content)
        message = HistoryMessage(
            provider_message_id=msg.id,
            direction="out" if out else "in",
            sender_type="agent" if out else "customer",  # history is the Business app's
            kind=msg.type if msg.type in KNOWN_TYPES or msg.type == PLACEHOLDER else "unknown",
            text=text,
            content=content,
            created_at=at,
            status=_status(context.status if context else None) if out else None,
            sender_id=None,
            reply_to=msg.context.id if msg.context else None,
        )
        return _digits(phone) or phone, message

    def _outbound(self, msg: InMessage, thread: str | None) -> bool:
        """Sent by the business: from its own number, or to someone, or from anyone but the
        thread's user (the thread is the user's number)."""
        sender = _digits(msg.sender)
        if self.own and sender == self.own:
            return True
        if thread and sender:
            return sender != _digits(thread)
        return bool(msg.to) and not sender


def _content(msg: InMessage) -> Content:
    if msg.type == PLACEHOLDER:
        return Unsupported(kind=PLACEHOLDER)
    return structure(msg)


def _status(value: str | None) -> str | None:
    return _STATUS.get(value.strip().lower()) if value else None


def _int(value: int | str | None) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _digits(phone: str | None) -> str | None:
    digits = "".join(c for c in phone or "" if c.isdigit())
    return digits or None


def _short(exc: BaseException) -> str:
    return str(exc)[:300]
