"""Conversation ids: derived from (business number, customer), so intake needs no lookup."""

from __future__ import annotations

from hashlib import blake2b


def conversation_id(business_id: str, customer_id: str) -> str:
    digest = blake2b(f"{business_id}\x1f{customer_id}".encode(), digest_size=10).hexdigest()
    return f"c_{digest}"
