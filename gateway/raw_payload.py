"""A webhook's own JSON, kept whole as the payload of the message it carries.

The core stores events as msgpack, which holds integers of 64 bits at most; JSON has no such
limit, and a sender may put anything in a field the gateway does not read. Larger integers
are kept as their digits (a text), so that one odd field is recorded as it came instead of
failing the whole webhook with a 500.
"""

from __future__ import annotations

from typing import Any

import msgspec

INT_MIN = -(2**63)
INT_MAX = 2**64 - 1
_any = msgspec.json.Decoder()


def decode_payload(raw: bytes | str | msgspec.Raw) -> Any:
    """Any JSON value, with every integer msgpack cannot hold turned into its digits.
    Raises what msgspec.json raises (DecodeError, RecursionError)."""
    return bounded(_any.decode(raw))


def bounded(value: Any) -> Any:
    """`value` with its out-of-range integers as text; lists and objects changed in place.
    Walked without recursion: msgspec decodes JSON nested deeper than Python's stack."""
    if type(value) is int:
        return value if INT_MIN <= value <= INT_MAX else str(value)
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            children: Any = node.items()
        elif isinstance(node, list):
            children = enumerate(node)
        else:
            continue
        for key, child in list(children):
            if isinstance(child, dict | list):
                stack.append(child)
            elif type(child) is int and not INT_MIN <= child <= INT_MAX:
                node[key] = str(child)
    return value
