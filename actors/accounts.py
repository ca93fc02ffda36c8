"""Operator accounts: random bearer tokens, shown once, stored as SHA-256 hashes.

The tokens are 256-bit random values, so a plain (fast) hash is the right tool: there is
nothing to brute-force, and a lookup by hash stays one indexed query.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from functools import partial
from typing import Literal

import msgspec

from storage import operators as operator_store
from storage.timefmt import iso
from storage.writer import Writer

Role = Literal["agent", "supervisor", "admin"]


class Operator(msgspec.Struct, frozen=True):
    id: str
    name: str
    email: str
    role: Role
    created_at: str
    active: bool = True


class EmailTaken(Exception):
    """An operator with this e-mail exists already."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_operator(
    writer: Writer, *, name: str, email: str, role: Role, now: datetime
) -> tuple[Operator, str]:
    """Create the account; returns it with its token (the only time the token is seen)."""
    token = secrets.token_urlsafe(32)
    operator = Operator(
        id=f"op_{secrets.token_hex(6)}", name=name, email=email, role=role, created_at=iso(now)
    )
    try:
        await writer.submit(
            partial(
                operator_store.insert,
                operator_id=operator.id,
                name=name,
                email=email,
                role=role,
                token_hash=hash_token(token),
                created_at=operator.created_at,
            )
        )
    except Exception as exc:
        if "UNIQUE constraint failed: operators.email" in str(exc):
            raise EmailTaken(email) from None
        raise
    return operator, token
