"""Ids the core makes. Conversation ids are derived from (business number, customer), so
intake needs no lookup; session ids are random, so that one says nothing of its customer
(and a 403 against a 404 tells nobody whether a customer has one)."""

from __future__ import annotations

import secrets
from hashlib import blake2b


def conversation_id(business_id: str, customer_id: str) -> str:
    digest = blake2b(f"{business_id}\x1f{customer_id}".encode(), digest_size=10).hexdigest()
    return f"c_{digest}"


def new_session_id() -> str:
    """A fresh session id: 96 random bits in hex (`s_` and 24 hex digits). Sessions made
    before ids were random keep theirs (`<conversation id>.s<n>`): ids are opaque."""
    return f"s_{secrets.token_hex(12)}"
