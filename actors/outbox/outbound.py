"""What the core hands to an outbound provider, and the provider interface (no HTTP here)."""

from __future__ import annotations

from typing import Literal, Protocol

import msgspec

from actors.runtime.codec import msgpack_encoder


class Choice(msgspec.Struct, frozen=True):
    """One reply button or list row of a menu."""

    id: str
    title: str
    description: str | None = None


class TemplateSend(msgspec.Struct, frozen=True):
    """An approved template (what may go outside the 24-hour window): its name, language
    and named parameters."""

    name: str
    language: str = "en"
    params: dict[str, str] = msgspec.field(default_factory=dict)


class OutboundMessage(msgspec.Struct, frozen=True):
    """One send, as stored in the outbox body. `text` is what the customer reads (for a
    template, its text as we know it); `outbox_id` is decided with the step."""

    business_id: str
    to: str
    text: str
    kind: Literal["text", "buttons", "list", "template"] = "text"
    choices: tuple[Choice, ...] = ()
    header: str | None = None
    footer: str | None = None
    list_button: str = "Choose"
    conversation_id: str = ""
    outbox_id: int = 0
    template: TemplateSend | None = None


class SendResult(msgspec.Struct, frozen=True):
    """`ok` with the provider's message id; else whether to retry, and the error."""

    ok: bool
    provider_message_id: str | None = None
    retryable: bool = False
    error_code: int | None = None
    error_detail: str | None = None
    retry_after: float | None = None


class OutboundProvider(Protocol):
    """Sends one message. Never raises for a provider's refusal: it returns a SendResult."""

    name: str

    async def send(self, message: OutboundMessage) -> SendResult: ...

    async def close(self) -> None: ...


_encoder = msgpack_encoder()
_decoder = msgspec.msgpack.Decoder(OutboundMessage)


def encode_outbound(message: OutboundMessage) -> bytes:
    return _encoder.encode(message)


def decode_outbound(blob: bytes) -> OutboundMessage:
    return _decoder.decode(blob)
