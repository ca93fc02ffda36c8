"""Whom a reply may go to: the customer's phone (6 to 15 digits, after an optional `+`) or
its business-scoped user id. Anything else came from a webhook that lied, and gets nothing."""

from __future__ import annotations

import re

PHONE = re.compile(r"\+?[0-9]{6,15}")
BSUID = re.compile(r"[A-Z]{2}\.(?:[A-Z]{2,4}\.)?[0-9A-Za-z]{4,64}")


def deliverable(recipient: str | None) -> bool:
    return recipient is not None and bool(PHONE.fullmatch(recipient) or BSUID.fullmatch(recipient))
