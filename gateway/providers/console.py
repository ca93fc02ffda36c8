"""The default provider: records and logs what would be sent; needs no credentials.

It keeps the most recent sends in memory (for tests and a look from a debugger), not all of
them: the console is the default provider, and a gateway left running on it would otherwise
grow by every reply it ever made (the overload bench saw ~1 KB a send)."""

from __future__ import annotations

import structlog

from actors.outbox.outbound import OutboundMessage, SendResult

log = structlog.get_logger("console_provider")


KEEP = 10_000


class ConsoleProvider:
    name = "console"

    def __init__(self, keep: int = KEEP) -> None:
        self.sent: list[OutboundMessage] = []  # the most recent `keep` to `2 * keep` sends
        self._keep = keep

    async def send(self, message: OutboundMessage) -> SendResult:
        self.sent.append(message)
        if len(self.sent) > 2 * self._keep:
            del self.sent[: -self._keep]
        log.info(
            "would_send",
            to=message.to,
            kind=message.kind,
            length=len(message.text),
            conversation_id=message.conversation_id,
            outbox_id=message.outbox_id,
        )
        log.debug("would_send_text", outbox_id=message.outbox_id, text=message.text)
        return SendResult(ok=True, provider_message_id=f"console.{message.outbox_id}")

    async def close(self) -> None:
        return None
