"""The offline analyzer: lexicons and counting, no I/O and no model, in English,
Portuguese and Arabic out of the box (more through the settings).

Language: the text's script narrows the lexicons to those written in it (Arabic script
-> "ar"); among several, the one with the most hits wins; a tie (or no hit at all) reads
the text with all of them together. Sentiment: positive and negative both present ->
mixed, neither -> neutral. Category: the most keyword hits, ties broken by `PRIORITY`; no
hit but a question mark, and no tag either -> inquiry; otherwise general. Tags: every tag
with a keyword hit, sorted; the category is not repeated among them (it has its field).

A conversation (`summarize`) has no model to write prose, so its summary names its most
frequent topics: "Topics: delivery, refund (12 messages; sentiment mixed)".
"""

from __future__ import annotations

from collections import Counter

from actors.maintenance.analysis import Analysis, AnalysisSettings, Category, Sentiment
from actors.maintenance.normalise import clauses, is_question, script
from actors.maintenance.reading import CompiledLexicon, Reading, read

PRIORITY: tuple[Category, ...] = ("complaint", "appointment", "inquiry", "feedback", "general")
# Over a conversation, the smaller side of the sentiment weight needs this share for "mixed".
MIXED_SHARE = 0.25
MAX_TOPICS = 5


class OfflineAnalyzer:
    """`Analyzer` by lexicons (`AnalysisSettings.lexicons`); see the module docstring."""

    name = "offline"

    def __init__(self, settings: AnalysisSettings) -> None:
        self._lexicons = {lang: CompiledLexicon.of(lex) for lang, lex in settings.lexicons.items()}
        self._window = settings.negation_window

    async def analyze(self, text: str) -> Analysis:
        return self._analysis(text, self._read(text)[1])

    async def summarize(self, texts: list[str]) -> Analysis:
        readings = [self._read(text)[1] for text in texts]
        analyses = [self._analysis(t, r) for t, r in zip(texts, readings, strict=True)]
        categories: Counter[str] = Counter(a.category for a in analyses if a.category != "general")
        tags = Counter(tag for a in analyses for tag in a.tags)
        sentiment = overall_sentiment(
            sum(r.positive for r in readings), sum(r.negative for r in readings)
        )
        topics = _most_frequent(tags) or _most_frequent(categories)
        count = f"{len(texts)} message{'' if len(texts) == 1 else 's'}"
        return Analysis(
            sentiment=sentiment,
            category=top_category(categories),
            tags=sorted(tags),
            summary=f"Topics: {', '.join(topics) or 'none'} ({count}; sentiment {sentiment})",
            analyzer=self.name,
        )

    async def close(self) -> None:
        """Nothing to release."""

    def detect_language(self, text: str) -> str | None:
        """The language whose lexicon `text` is read with; None when it is read with all."""
        return self._read(text)[0]

    def _read(self, text: str) -> tuple[str | None, Reading]:
        """The language `text` is read in (None: all of them at once) and the reading."""
        written = script(text)
        candidates = [lang for lang, lex in self._lexicons.items() if lex.script == written]
        parts = clauses(text)
        readings = {
            lang: read(self._lexicons[lang], parts, self._window)
            for lang in candidates or self._lexicons
        }
        ranked = sorted(readings, key=lambda lang: readings[lang].evidence, reverse=True)
        if len(ranked) == 1 or (
            ranked and readings[ranked[0]].evidence > readings[ranked[1]].evidence
        ):
            return ranked[0], readings[ranked[0]]
        return None, sum(readings.values(), Reading())

    def _analysis(self, text: str, reading: Reading) -> Analysis:
        category = top_category(reading.categories)
        if category == "general" and not reading.tags and is_question(text):
            category = "inquiry"
        return Analysis(
            sentiment=sentiment_of(reading.positive, reading.negative),
            category=category,
            tags=sorted(reading.tags),
            analyzer=self.name,
        )


def sentiment_of(positive: float, negative: float) -> Sentiment:
    """One message: any positive and any negative weight make it mixed."""
    if positive and negative:
        return "mixed"
    return "positive" if positive else "negative" if negative else "neutral"


def overall_sentiment(positive: float, negative: float) -> Sentiment:
    """A conversation: mixed only when the smaller side is substantial (`MIXED_SHARE`)."""
    total = positive + negative
    if not total:
        return "neutral"
    if min(positive, negative) >= MIXED_SHARE * total:
        return "mixed"
    return "positive" if positive > negative else "negative"


def top_category(counts: Counter[str]) -> Category:
    """The category with the most hits, ties broken by `PRIORITY`; none -> general."""
    best = max(PRIORITY, key=lambda c: (counts[c], -PRIORITY.index(c)))
    return best if counts[best] > 0 else "general"


def _most_frequent(counts: Counter[str]) -> list[str]:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [name for name, _ in ranked[:MAX_TOPICS]]
