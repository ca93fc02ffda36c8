"""Where a conversation's history comes from: the messages a provider still holds for one
chat, read back page by page, in one shape whatever the provider.

A `HistorySource` answers "every message of this chat at or after `since`, oldest first";
how it pages, paces and authenticates stays inside it (the WATI source is
`gateway.providers.wati_history`; the Cloud API pushes its history instead, decoded by
`gateway.cloud_history`). A failure is a `HistoryError` that says whether trying again can
help and, when the provider said so, after how long.

The core knows no provider: these types hold only what a sync needs to store a message
next to the ones the webhooks already stored (the provider's message id, so the two meet),
and what a person reads (`text`, made from the content as everywhere else).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

import msgspec

from actors.conversation.summary import summary
from storage.content import Content

Direction = Literal["in", "out"]
SenderType = Literal["customer", "agent", "bot", "system"]


class HistoryMessage(msgspec.Struct, frozen=True):
    """One message of a chat as the provider kept it.

    `provider_message_id` is the WhatsApp id (wamid) when the provider gives one, so that it
    matches what the webhooks stored; else the provider's own id with its prefix (`wati:`).
    `created_at` is aware UTC. `status` is the delivery status of an outbound message
    (`sent`, `delivered`, `read`, `played`, `failed`, `pending`), None for inbound ones or
    when unknown. `sender_id` names who wrote it where the provider says (a WATI operator's
    e-mail)."""

    provider_message_id: str
    direction: Direction
    sender_type: SenderType
    kind: str
    text: str | None
    content: Content | None
    created_at: datetime
    status: str | None
    sender_id: str | None
    reply_to: str | None = None


class HistoryChat(msgspec.Struct, frozen=True):
    """The chat whose history is asked for: our conversation, the business number it is on,
    and the customer's WhatsApp id (`phone`, digits with the country code)."""

    conversation_id: str
    business_id: str
    phone: str


class HistorySource(Protocol):
    """A provider's stored messages, read on demand."""

    name: str

    async def fetch(self, chat: HistoryChat, since: datetime | None) -> list[HistoryMessage]:
        """Every message of `chat` created at or after `since` (None: all of them), oldest
        first, without duplicates; pages internally. Raises `HistoryError`."""
        ...

    async def close(self) -> None:
        """Release the connections; the source is not used after this."""
        ...


class HistoryError(Exception):
    """Reading a chat's history failed.

    `reason` is one short word (`auth`, `rate_limited`, `server`, `timeout`, `network`,
    `refused`, `bad_request`, `bad_response`, `too_many_pages`...); `retryable` says whether
    the same request can succeed later; `status` is the HTTP status when there was one;
    `retry_after` the seconds the provider asked to wait (Retry-After), if it did. The
    message never carries a credential."""

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool,
        status: int | None = None,
        retry_after: float | None = None,
        detail: str = "",
    ) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after
        self.detail = detail


def readable(content: Content | None) -> str | None:
    """What a person reads for `content` (as the conversation's own messages show it)."""
    return summary(content) if content is not None else None


def oldest_first(messages: list[HistoryMessage]) -> list[HistoryMessage]:
    """`messages` without repeated ids (the first one kept), sorted by time, stable."""
    seen: set[str] = set()
    unique = []
    for message in messages:
        if message.provider_message_id not in seen:
            seen.add(message.provider_message_id)
            unique.append(message)
    return sorted(unique, key=lambda m: m.created_at)
