"""How a text becomes comparable tokens, for texts and lexicon entries alike.

Case is folded; Latin letters lose their accents ("não" -> "nao", so customers who type
without them still match); Arabic keeps its letters but loses what varies in writing:
diacritics (harakat), tatweel, the hamza and madda on alef (to a bare alef), on waw and yeh
(to bare waw and yeh), and alef maksura to yeh, teh marbuta to heh (as Lucene's Arabic
normaliser does). Other scripts only fold case.

A text splits into clauses at punctuation, and clauses into word tokens (Unicode letters
and digits): a negation or a phrase never reaches across a comma or a full stop.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Script = Literal["arabic", "latin", "other"]

_ARABIC_FOLD = str.maketrans(
    {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ؤ": "و", "ئ": "ي", "ى": "ي", "ة": "ه", "ـ": None}
)
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]")
# An apostrophe inside a word joins it ("don't" -> "dont"), so contractions are one token.
_APOSTROPHE = re.compile(r"(?<=\w)['’ʼ`](?=\w)")
_CLAUSE_BREAK = re.compile(r"[.,;:!?¿¡\n()\[\]{}\"“”«»…،؛؟]+")
_WORD = re.compile(r"[^\W_]+")


def normalise(text: str) -> str:
    """`text` folded for matching: see the module docstring."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _ARABIC_MARKS.sub("", text.translate(_ARABIC_FOLD))
    return _APOSTROPHE.sub("", _strip_latin_accents(text))


def clauses(text: str) -> list[list[str]]:
    """The normalised tokens of `text`, clause by clause (empty clauses left out)."""
    parts = (_WORD.findall(part) for part in _CLAUSE_BREAK.split(normalise(text)))
    return [tokens for tokens in parts if tokens]


def tokens(text: str) -> list[str]:
    """The normalised tokens of `text`, ignoring clause breaks (for lexicon entries)."""
    return _WORD.findall(normalise(text))


def is_question(text: str) -> bool:
    """Whether the text asks something by its punctuation (Latin or Arabic question mark)."""
    return "?" in text or "؟" in text


def script(text: str) -> Script:
    """The script most of the letters of `text` are written in."""
    arabic = latin = other = 0
    for char in text:
        if not char.isalpha():
            continue
        if _is_arabic(char):
            arabic += 1
        elif _is_latin(char):
            latin += 1
        else:
            other += 1
    best = max(arabic, latin, other)
    if best == 0 or best == other:
        return "other"
    return "arabic" if arabic == best else "latin"


def _strip_latin_accents(text: str) -> str:
    """Drop the combining marks that follow a Latin letter; leave every other script be."""
    out: list[str] = []
    base = ""
    for char in unicodedata.normalize("NFD", text):
        if unicodedata.combining(char):
            if not _is_latin(base):
                out.append(char)
            continue
        base = char
        out.append(char)
    return unicodedata.normalize("NFC", "".join(out))


def _is_latin(char: str) -> bool:
    return ("a" <= char <= "z") or ("\u00c0" <= char <= "\u024f") or ("\u1e00" <= char <= "\u1eff")


def _is_arabic(char: str) -> bool:
    return (
        "\u0600" <= char <= "\u06ff"
        or "\u0750" <= char <= "\u077f"
        or "\u08a0" <= char <= "\u08ff"
        or "\ufb50" <= char <= "\ufdff"
        or "\ufe70" <= char <= "\ufeff"
    )
