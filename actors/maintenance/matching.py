"""Finding a lexicon's words and phrases in a clause's tokens.

An entry is normalised exactly as texts are (`normalise.tokens`), so "não" matches "nao"
and "الخدمة" matches "الخدمه". A trailing `*` makes its last word a prefix ("deliver*").
Arabic words are also tried without a leading clitic (و ف ب ل ك, ال and their blends:
"بالخدمة" meets "خدمة"), on both sides, keeping a stem of at least three letters after a
one-letter clitic so that short words (لا، ما، بس) stay whole.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from actors.maintenance.normalise import tokens

Variants = tuple[str, ...]  # a token and its stem without an Arabic clitic, if it has one

# Longest first: the first clitic that fits is the one stripped.
_CLITICS: tuple[str, ...] = (
    *("وبال", "وكال", "ولل", "فلل", "وال", "بال", "فال", "كال", "لل", "ال"),  # with the article
    *("و", "ف", "ب", "ل"),  # a one-letter conjunction or preposition
)


class Span(NamedTuple):
    """An entry found at tokens[start:end], with the label it was listed under."""

    label: str
    start: int
    end: int


class _Word(NamedTuple):
    forms: frozenset[str]
    prefix: bool

    def matches(self, variants: Variants) -> bool:
        if self.prefix:
            return any(v.startswith(f) for v in variants for f in self.forms)
        return any(v in self.forms for v in variants)


class _Entry(NamedTuple):
    label: str
    words: tuple[_Word, ...]


def variants(token: str) -> Variants:
    """The token, and the token without its Arabic clitic when it has one."""
    for clitic in _CLITICS:
        rest = len(token) - len(clitic)
        if token.startswith(clitic) and rest >= (3 if len(clitic) == 1 else 2):
            return (token, token[len(clitic) :])
    return (token,)


def prepare(clause: Sequence[str]) -> list[Variants]:
    """A clause's tokens with their variants, computed once for every matcher."""
    return [variants(token) for token in clause]


class Matcher:
    """The entries of some labelled lists ((label, entries) pairs), found greedily left to right:
    at each position the longest matching entry wins and matches do not overlap; with
    `each_label`, that holds within each label, and labels overlap freely (a word can be a
    category keyword and a tag keyword at once)."""

    def __init__(self, lists: Iterable[tuple[str, Iterable[str]]]) -> None:
        # Entries by their first word; those whose first word is a prefix by its first letter.
        self._by_first: defaultdict[str, list[_Entry]] = defaultdict(list)
        self._by_letter: defaultdict[str, list[_Entry]] = defaultdict(list)
        for label, entries in lists:
            for text in entries:
                entry = _compile(label, text)
                if entry is None:
                    continue
                first = entry.words[0]
                index = self._by_letter if first.prefix else self._by_first
                for key in {form[:1] if first.prefix else form for form in first.forms}:
                    index[key].append(entry)

    def find(self, clause: Sequence[Variants], *, each_label: bool = False) -> list[Span]:
        """Every match in the clause, by position."""
        spans: list[Span] = []
        free: dict[str, int] = {}  # per label (or "" for all), the first position not taken
        for i, token in enumerate(clause):
            best: dict[str, Span] = {}
            for entry in self._candidates(token):
                key = entry.label if each_label else ""
                end = i + len(entry.words)
                if free.get(key, 0) > i or end > len(clause) or end <= best.get(key, (0, 0, 0))[2]:
                    continue
                if all(w.matches(clause[i + k]) for k, w in enumerate(entry.words)):
                    best[key] = Span(entry.label, i, end)
            for key, span in best.items():
                spans.append(span)
                free[key] = span.end
        return spans

    def _candidates(self, token: Variants) -> list[_Entry]:
        found = [e for v in token for e in self._by_first.get(v, ())]
        found += dict.fromkeys(e for v in token for e in self._by_letter.get(v[:1], ()))
        return found


def _compile(label: str, text: str) -> _Entry | None:
    prefix = text.rstrip().endswith("*")
    words = tokens(text.rstrip().rstrip("*"))
    if not words:
        return None
    compiled = [_Word(frozenset(variants(w)), False) for w in words]
    compiled[-1] = compiled[-1]._replace(prefix=prefix)
    return _Entry(label, tuple(compiled))
