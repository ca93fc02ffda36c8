"""The default provider: records and logs what would be sent; needs no credentials."""

from __future__ import annotations

import structlog

from actors.outbox.outbound import OutboundMessage, SendResult

log = structlog.get_logger("console_provider")


class ConsoleProvider:
    name = "console"

    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []

    async def send(self, message: OutboundMessage) -> SendResult:
        self.sent.append(message)
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
