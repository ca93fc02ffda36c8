"""Signed Cloud API text webhooks for the load generator: one line per request,
`<signature> <body>`, each a new message id, spread over many conversations."""

from __future__ import annotations

import json
import time
from pathlib import Path

from gateway.signature import sign

BUSINESS = "310000000000002"
APP_SECRET = "bench-app-secret"


def text_webhook(phone: str, wamid: str, ts: int, text: str) -> bytes:
    return batch_webhook([(phone, wamid)], ts, text)


def batch_webhook(senders: list[tuple[str, str]], ts: int, text: str) -> bytes:
    """One webhook carrying a message from each `(phone, wamid)` (Meta batches them)."""
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "210000000000001",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "441610000000",
                                "phone_number_id": BUSINESS,
                            },
                            "contacts": [
                                {
                                    "profile": {"name": "Bench User"},
                                    "wa_id": phone,
                                    "user_id": f"GB.{phone}",
                                }
                                for phone, _ in senders
                            ],
                            "messages": [
                                {
                                    "from": phone,
                                    "id": wamid,
                                    "timestamp": str(ts),
                                    "type": "text",
                                    "text": {"body": text},
                                }
                                for phone, wamid in senders
                            ],
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(body, separators=(",", ":")).encode()


def write_requests(
    path: Path, count: int, conversations: int, prefix: str = "b", per_webhook: int = 1
) -> Path:
    """`count` signed webhooks round-robin over `conversations` customers, each carrying
    `per_webhook` messages (of as many customers)."""
    ts = int(time.time())
    with path.open("wb") as out:
        for i in range(count):
            senders = [
                (f"4477{n % conversations:08d}", f"wamid.{prefix}{n:09d}")
                for n in range(i * per_webhook, (i + 1) * per_webhook)
            ]
            raw = batch_webhook(senders, ts, "hi")
            out.write(sign(raw, APP_SECRET).encode() + b" " + raw + b"\n")
    return path
