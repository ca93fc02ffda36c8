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
                            ],
                            "messages": [
                                {
                                    "from": phone,
                                    "id": wamid,
                                    "timestamp": str(ts),
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(body, separators=(",", ":")).encode()


def write_requests(path: Path, count: int, conversations: int, prefix: str = "b") -> Path:
    """`count` signed webhooks round-robin over `conversations` customers."""
    ts = int(time.time())
    with path.open("wb") as out:
        for i in range(count):
            phone = f"4477{i % conversations:08d}"
            raw = text_webhook(phone, f"wamid.{prefix}{i:09d}", ts, "hi")
            out.write(sign(raw, APP_SECRET).encode() + b" " + raw + b"\n")
    return path
