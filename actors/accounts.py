"""Operator accounts: random bearer tokens, shown once, stored as SHA-256 hashes.

The tokens are 256-bit random values, so a plain (fast) hash is the right tool: there is
nothing to brute-force, and a lookup by hash stays one indexed query.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from storage.rows import NewOperator, OperatorChange
from storage.store import Store
from storage.views import OperatorView, Role


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_operator(
    store: Store, *, name: str, email: str, role: Role, now: datetime
) -> tuple[OperatorView, str]:
    """Create the account; returns it with its token (the only time the token is seen).
    Raises the store's EmailTaken when the e-mail is in use."""
    token = secrets.token_urlsafe(32)
    operator = OperatorView(
        id=f"op_{secrets.token_hex(6)}", name=name, email=email, role=role, created_at=now
    )
    await store.create_operator(
        NewOperator(operator.id, name, email, role, hash_token(token), operator.created_at)
    )
    return operator, token


async def new_token(store: Store, operator_id: str) -> str:
    """A new token for the operator; the old one stops working (the caller forgets any
    principal it cached for it)."""
    token = secrets.token_urlsafe(32)
    await store.change_operator(OperatorChange(operator_id, token_hash=hash_token(token)))
    return token
