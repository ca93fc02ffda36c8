"""What one lexicon finds in one text: sentiment weights, category hits and tags.

Negation: a negation word ending at most `window` tokens before a sentiment word, in the
same clause, flips it ("not good" is negative, "não é ruim" positive); one flip, however
many negations. An intensifier next to a sentiment word, before or after ("very good",
"جيد جدا"), doubles its weight. An `expected` word only counts when negated: "never
arrived" weighs negative and is a complaint. A category keyword that is also a sentiment
word and is negated does not count ("never late" is no complaint, while "não gostei do
atendimento" is still feedback); tags are topics and ignore negation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from actors.maintenance.analysis import Lexicon
from actors.maintenance.matching import Matcher, Span, Variants, prepare
from actors.maintenance.normalise import Script, script


@dataclass(frozen=True)
class CompiledLexicon:
    """A `Lexicon` made ready for matching, and the script it is written in."""

    sentiment: Matcher  # labels: positive, negative, neutral, expected
    negations: Matcher
    intensifiers: Matcher
    categories: Matcher  # labels: the categories
    tags: Matcher  # labels: the tags
    script: Script

    @classmethod
    def of(cls, lexicon: Lexicon) -> CompiledLexicon:
        sentiment = {
            "positive": lexicon.positive,
            "negative": lexicon.negative,
            "neutral": lexicon.neutral,
            "expected": lexicon.expected,
        }
        return cls(
            sentiment=Matcher(sentiment.items()),
            negations=Matcher([("negation", lexicon.negations)]),
            intensifiers=Matcher([("intensifier", lexicon.intensifiers)]),
            categories=Matcher(lexicon.categories.items()),
            tags=Matcher(lexicon.tags.items()),
            script=script(" ".join(lexicon.positive + lexicon.negative + lexicon.negations)),
        )


@dataclass
class Reading:
    """The findings: `evidence` counts every hit, telling how well the language fits."""

    positive: float = 0.0
    negative: float = 0.0
    categories: Counter[str] = field(default_factory=Counter)
    tags: set[str] = field(default_factory=set)
    evidence: int = 0

    def __add__(self, other: Reading) -> Reading:
        return Reading(
            positive=self.positive + other.positive,
            negative=self.negative + other.negative,
            categories=self.categories + other.categories,
            tags=self.tags | other.tags,
            evidence=self.evidence + other.evidence,
        )


def read(lexicon: CompiledLexicon, clauses: Sequence[Sequence[str]], window: int) -> Reading:
    """What `lexicon` finds in a text's clauses (`normalise.clauses`)."""
    reading = Reading()
    for clause in clauses:
        _read_clause(lexicon, prepare(clause), window, reading)
    return reading


def _read_clause(
    lexicon: CompiledLexicon, clause: list[Variants], window: int, reading: Reading
) -> None:
    sentiment = lexicon.sentiment.find(clause)
    # A negation inside a sentiment phrase ("never again") is part of it, not a flip.
    negations = [n for n in lexicon.negations.find(clause) if not _inside(n, sentiment)]
    intensifiers = lexicon.intensifiers.find(clause)
    reading.evidence += len(sentiment) + len(negations) + len(intensifiers)

    flips = [
        s
        for s in sentiment
        if s.label != "neutral" and any(0 <= s.start - n.end < window for n in negations)
    ]
    for span in sentiment:
        near = any(i.end == span.start or i.start == span.end for i in intensifiers)
        weight = 2.0 if near else 1.0
        flipped = span in flips
        if span.label == "positive":
            reading.negative += weight if flipped else 0.0
            reading.positive += 0.0 if flipped else weight
        elif span.label == "negative":
            reading.positive += weight if flipped else 0.0
            reading.negative += 0.0 if flipped else weight
        elif span.label == "expected" and flipped:
            reading.negative += weight
            reading.categories["complaint"] += 1
    categories = lexicon.categories.find(clause, each_label=True)
    tags = lexicon.tags.find(clause, each_label=True)
    reading.evidence += len(categories) + len(tags)
    reading.categories.update(c.label for c in categories if not _overlaps(c, flips))
    reading.tags.update(t.label for t in tags)


def _inside(span: Span, others: list[Span]) -> bool:
    return any(o.start <= span.start and span.end <= o.end for o in others)


def _overlaps(span: Span, others: list[Span]) -> bool:
    return any(o.start < span.end and span.start < o.end for o in others)
