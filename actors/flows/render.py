"""`{variable}` placeholders in a flow's texts, filled from the conversation's variables (a
placeholder with no value stays as it is)."""

from __future__ import annotations


class _Vars(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(text: str, variables: dict[str, str]) -> str:
    try:
        return text.format_map(_Vars(variables))
    except (ValueError, IndexError, AttributeError):
        return text
