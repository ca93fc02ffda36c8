"""What an analysis of a message or a conversation says, the one interface every analyzer
offers, and the `[analysis]` settings that choose and configure one.

The analyzers behind `Analyzer` differ in cost and quality (an offline lexicon scorer, an
HTTP language model), never in shape: callers see the same frozen `Analysis` either way.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Protocol

import msgspec

from actors.maintenance.lexicons import default_lexicon_data

Sentiment = Literal["positive", "neutral", "negative", "mixed"]
Category = Literal["appointment", "inquiry", "complaint", "feedback", "general"]


class AnalysisError(Exception):
    """An analysis could not be made (the model failed, answered nonsense, or the analyzer
    is misconfigured); the message says why, without secrets or message texts."""


class Analysis(msgspec.Struct, frozen=True, kw_only=True):
    """The sentiment, category and tags of one message or of a whole conversation.

    `summary` is set for conversations (`Analyzer.summarize`); `analyzer` names what made
    it ("offline" or "http"), so a stored analysis says how much to trust it."""

    sentiment: Sentiment
    category: Category
    tags: list[str]
    summary: str | None = None
    analyzer: str


class Analyzer(Protocol):
    """Analyses texts. Implementations: `OfflineAnalyzer` (lexicons, no I/O) and the
    gateway's `HttpAnalyzer` (an OpenAI-compatible chat-completions API)."""

    name: str

    async def analyze(self, text: str) -> Analysis:
        """One message: its sentiment, category and tags (no summary)."""
        ...

    async def summarize(self, texts: list[str]) -> Analysis:
        """A conversation, its messages' texts oldest first: a summary and the overall
        sentiment, category and tags."""
        ...

    async def close(self) -> None:
        """Release what the analyzer holds (an HTTP session); the owner calls it once."""
        ...


class Lexicon(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """One language's words for the offline analyzer.

    Entries are words or phrases ("thank you"); a trailing `*` matches any word starting so
    ("deliver*": delivery, delivered). Case, Latin accents and Arabic letter forms do not
    matter. `negations` flip a sentiment word shortly after them ("not good");
    `intensifiers` next to one double its weight ("very good", "جيد جدا"); `neutral`
    phrases hide the sentiment words inside them ("good morning", "bom dia"); `expected`
    words are what a customer expects to happen: neutral said plainly, negative and a
    complaint when negated ("never arrived", "não funciona", "ما وصل").
    """

    positive: list[str]
    negative: list[str]
    negations: list[str]
    categories: dict[Category, list[str]]
    tags: dict[str, list[str]]
    intensifiers: list[str] = []
    neutral: list[str] = []
    expected: list[str] = []


def default_lexicons() -> dict[str, Lexicon]:
    """The built-in lexicons ("en", "pt", "ar"), freshly decoded (callers may keep them)."""
    data: dict[str, Any] = default_lexicon_data()
    return msgspec.convert(data, type=dict[str, Lexicon])


class AnalysisSettings(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The `[analysis]` settings section.

    `analyzer` picks the implementation. The `http_*_env` fields name environment
    variables (URL, model, API key) the gateway reads at start-up: secrets never live in
    the settings file. `lexicons` are layered over the built-in ones: naming a language
    replaces its lexicon whole, a new name ("es") adds a language.
    """

    analyzer: Literal["offline", "http"] = "offline"
    http_url_env: str = "ANALYSIS_API_URL"
    http_model_env: str = "ANALYSIS_MODEL"
    http_key_env: str = "ANALYSIS_API_KEY"
    http_timeout_seconds: Annotated[float, msgspec.Meta(gt=0)] = 20.0
    # How many tokens before a sentiment word a negation still reaches ("not at all good").
    negation_window: Annotated[int, msgspec.Meta(ge=1, le=10)] = 3
    lexicons: dict[str, Lexicon] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        merged = {**default_lexicons(), **self.lexicons}
        msgspec.structs.force_setattr(self, "lexicons", merged)
