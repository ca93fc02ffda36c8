"""The offline analyzer: sentiment with negation, category and tags in English, Portuguese
and Arabic; language detection; lexicons from the settings; conversation summaries."""

from __future__ import annotations

from collections import Counter

import msgspec
import pytest

from actors.maintenance.analysis import (
    Analysis,
    AnalysisSettings,
    Category,
    Lexicon,
    Sentiment,
    default_lexicons,
)
from actors.maintenance.matching import Matcher, prepare
from actors.maintenance.normalise import clauses, normalise, script
from actors.maintenance.offline import OfflineAnalyzer, overall_sentiment, top_category


@pytest.fixture
def analyzer() -> OfflineAnalyzer:
    return OfflineAnalyzer(AnalysisSettings())


Case = tuple[str, Sentiment, Category, list[str]]

ENGLISH: list[Case] = [
    ("The coffee was not good", "negative", "general", []),
    ("Not bad at all", "positive", "general", []),
    ("The driver is never late", "positive", "general", []),
    ("no problem at all", "positive", "general", []),
    ("I want to book an appointment tomorrow", "neutral", "appointment", ["appointment"]),
    ("My order never arrived, I want a refund", "negative", "complaint", ["delivery", "refund"]),
    ("how much is the blue mug?", "neutral", "inquiry", ["price_inquiry"]),
    ("Great service, thank you", "positive", "feedback", ["thanks"]),
    ("The food was great but the delivery was late", "mixed", "complaint", ["delivery"]),
    ("It doesn't work", "negative", "complaint", []),
    ("They never answered, terrible service", "negative", "complaint", []),
    ("URGENT: please call me right now", "neutral", "general", ["urgent"]),
    ("Hello, good morning", "neutral", "general", ["greeting"]),
    ("Is it available in red?", "neutral", "inquiry", []),
    ("I will be there at 5", "neutral", "general", []),
    ("I'd like to cancel my booking", "neutral", "appointment", ["appointment", "cancellation"]),
]

PORTUGUESE: list[Case] = [
    ("Não gostei do atendimento", "negative", "feedback", []),
    ("O produto não é ruim", "positive", "general", []),
    ("Meu pedido nunca chegou, quero reembolso", "negative", "complaint", ["delivery", "refund"]),
    ("Quanto custa a caneca azul?", "neutral", "inquiry", ["price_inquiry"]),
    ("Quero agendar uma consulta amanhã", "neutral", "appointment", ["appointment"]),
    ("Ótimo atendimento, obrigado!", "positive", "feedback", ["thanks"]),
    ("otimo atendimento obrigado", "positive", "feedback", ["thanks"]),  # typed without accents
    ("A comida é boa mas a entrega atrasou muito", "mixed", "complaint", ["delivery"]),
    ("Ainda não recebi meu pedido, urgente!", "negative", "complaint", ["urgent"]),
    ("Bom dia, tudo bem?", "neutral", "general", ["greeting"]),
    ("Não funciona", "negative", "complaint", []),
]

ARABIC: list[Case] = [
    ("ليس جيدا", "negative", "general", []),  # MSA: not good
    ("ليسَ جيّداً", "negative", "general", []),  # the same, with diacritics
    ("المنتج مش كويس", "negative", "general", []),  # Egyptian: not good
    ("مش وحش", "positive", "general", []),  # Egyptian: not bad
    ("مو زين", "negative", "general", []),  # Gulf: not good
    ("ما وصل الطلب", "negative", "complaint", ["delivery"]),  # Gulf: the order did not arrive
    ("لم يصل الطلب ولم يرد أحد", "negative", "complaint", ["delivery"]),  # MSA: no one replied
    ("الخدمة ممتازة شكرا", "positive", "feedback", ["thanks"]),
    ("الخدمه ممتازه شكراً", "positive", "feedback", ["thanks"]),  # other spellings
    ("أريد حجز موعد غدا", "neutral", "appointment", ["appointment"]),
    ("كم سعر الكوب الأزرق؟", "neutral", "inquiry", ["price_inquiry"]),
    ("الأكل حلو بس التوصيل بطيء", "mixed", "general", ["delivery"]),
    ("الطلب وصل متأخر جدا", "negative", "complaint", ["delivery"]),
    ("ما عجبني المنتج، أبغى استرجاع فلوسي", "negative", "complaint", ["refund"]),
    ("السلام عليكم", "neutral", "general", ["greeting"]),
    ("متى تفتحون؟", "neutral", "inquiry", []),
]


@pytest.mark.parametrize(("text", "sentiment", "category", "tags"), ENGLISH + PORTUGUESE + ARABIC)
async def test_message_table(
    analyzer: OfflineAnalyzer, text: str, sentiment: Sentiment, category: Category, tags: list[str]
) -> None:
    """Each message gets its expected sentiment, category and sorted tags."""
    analysis = await analyzer.analyze(text)
    assert analysis == Analysis(
        sentiment=sentiment, category=category, tags=tags, analyzer="offline"
    )


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("I want to book an appointment", "en"),
        ("Quero agendar uma consulta", "pt"),
        ("أريد حجز موعد", "ar"),
        ("ok", None),  # no lexicon knows it: read with all of them
    ],
)
def test_language_detection(analyzer: OfflineAnalyzer, text: str, language: str | None) -> None:
    """The language is the lexicon that matches most, or the script (Arabic -> "ar")."""
    assert analyzer.detect_language(text) == language


def test_normalisation() -> None:
    """Case and Latin accents fold; Arabic keeps its letters but not its variable forms."""
    assert normalise("NÃO Gostei") == "nao gostei"
    assert normalise("أإآ ى ة ـ") == "ااا ي ه "
    assert normalise("جيّداً") == "جيدا"
    assert normalise("Don't") == "dont"
    assert normalise("Привет") == "привет"  # other scripts only fold case
    assert clauses("not fast, good!") == [["not", "fast"], ["good"]]
    assert (script("مرحبا hi"), script("olá"), script("123")) == ("arabic", "latin", "other")


def test_matcher() -> None:
    """Entries match as prefixes (`*`), as phrases (longest first) and past Arabic clitics."""
    matcher = Matcher([("p", ["deliver*", "thank", "thank you"]), ("a", ["خدمة"])])
    [clause] = clauses("delivered thank you")
    assert matcher.find(prepare(clause)) == [("p", 0, 1), ("p", 1, 3)]
    [arabic] = clauses("بالخدمة")
    assert matcher.find(prepare(arabic)) == [("a", 0, 1)]
    tags = Matcher([("delivery", ["late delivery"]), ("urgent", ["late"]), ("x", ["delivery"])])
    [both] = clauses("late delivery")
    assert tags.find(prepare(both)) == [("delivery", 0, 2)]
    assert tags.find(prepare(both), each_label=True) == [
        ("delivery", 0, 2),
        ("urgent", 0, 1),
        ("x", 1, 2),
    ]


@pytest.mark.parametrize(
    ("text", "sentiment"),
    [
        ("not fast, but good", "mixed"),
        ("I was not at all happy", "negative"),
        ("I did not think the staff would be this helpful", "positive"),  # out of reach
        ("good morning", "neutral"),  # a greeting hides its sentiment word
        ("never again", "negative"),  # the negation inside the phrase is part of it
    ],
)
async def test_negation_reach(analyzer: OfflineAnalyzer, text: str, sentiment: Sentiment) -> None:
    """A negation flips a sentiment word at most three tokens later, in the same clause."""
    assert (await analyzer.analyze(text)).sentiment == sentiment


def test_settings_layer_lexicons_over_the_defaults() -> None:
    """Settings replace a language's lexicon whole or add one; the rest stay built in."""
    es = Lexicon(
        positive=["bueno", "excelente"],
        negative=["malo"],
        negations=["no", "nunca"],
        categories={"complaint": ["reembolso"]},
        tags={"refund": ["reembolso"]},
    )
    settings = msgspec.convert({"lexicons": {"es": msgspec.to_builtins(es)}}, AnalysisSettings)
    assert sorted(settings.lexicons) == ["ar", "en", "es", "pt"]
    assert settings.lexicons["es"] == es
    replaced = AnalysisSettings(lexicons={"en": es})
    assert replaced.lexicons["en"] == es and replaced.lexicons["pt"] == default_lexicons()["pt"]


async def test_added_language_is_used() -> None:
    """A language added in the settings is detected and analysed like the built-in ones."""
    es = Lexicon(
        positive=["bueno"],
        negative=["malo"],
        negations=["no", "nunca"],
        categories={"complaint": ["reembolso"]},
        tags={"refund": ["reembolso"]},
    )
    analyzer = OfflineAnalyzer(AnalysisSettings(lexicons={"es": es}))
    assert analyzer.detect_language("el producto no es bueno, quiero un reembolso") == "es"
    analysis = await analyzer.analyze("el producto no es bueno, quiero un reembolso")
    assert (analysis.sentiment, analysis.category, analysis.tags) == (
        "negative",
        "complaint",
        ["refund"],
    )


async def test_replaced_language_forgets_its_defaults() -> None:
    """Replacing "en" drops its built-in words: only the new ones count."""
    en = Lexicon(positive=["groovy"], negative=[], negations=["not"], categories={}, tags={})
    analyzer = OfflineAnalyzer(AnalysisSettings(lexicons={"en": en}))
    assert (await analyzer.analyze("that is groovy")).sentiment == "positive"
    assert (await analyzer.analyze("that is not groovy")).sentiment == "negative"
    assert (await analyzer.analyze("that is good")).sentiment == "neutral"


def test_lexicon_settings_are_checked() -> None:
    """An unknown category or key in a lexicon stops the settings, named."""
    base = msgspec.to_builtins(default_lexicons()["en"])
    with pytest.raises(msgspec.ValidationError, match="Invalid enum value 'billing'"):
        msgspec.convert(
            {"lexicons": {"en": {**base, "categories": {"billing": []}}}}, AnalysisSettings
        )
    with pytest.raises(msgspec.ValidationError, match="unknown field `positives`"):
        msgspec.convert({"lexicons": {"en": {**base, "positives": []}}}, AnalysisSettings)
    with pytest.raises(msgspec.ValidationError, match="http_timeout_seconds"):
        msgspec.convert({"http_timeout_seconds": 0}, AnalysisSettings)


async def test_summarize_counts_topics(analyzer: OfflineAnalyzer) -> None:
    """A conversation's summary names its most frequent tags, the count and the sentiment."""
    texts = [
        "Hi, my order never arrived",
        "Where is my delivery? This is terrible",
        "I want a refund",
        "Thanks, the refund came quickly, great",
    ]
    analysis = await analyzer.summarize(texts)
    assert analysis == Analysis(
        sentiment="mixed",
        category="complaint",
        tags=["delivery", "greeting", "refund", "thanks"],
        summary="Topics: delivery, refund, greeting, thanks (4 messages; sentiment mixed)",
        analyzer="offline",
    )


async def test_summarize_without_topics(analyzer: OfflineAnalyzer) -> None:
    """No tags: the categories are the topics; nothing at all: "none"; no messages too."""
    one = await analyzer.summarize(["Is it open on Sunday?"])
    assert one.summary == "Topics: inquiry (1 message; sentiment neutral)"
    empty = await analyzer.summarize([])
    assert empty == Analysis(
        sentiment="neutral",
        category="general",
        tags=[],
        summary="Topics: none (0 messages; sentiment neutral)",
        analyzer="offline",
    )


def test_overall_sentiment_needs_a_substantial_minority() -> None:
    """Over a conversation, mixed needs the smaller side to hold a quarter of the weight."""
    assert overall_sentiment(3, 1) == "mixed"
    assert overall_sentiment(4, 1) == "positive"
    assert overall_sentiment(0, 2) == "negative"
    assert overall_sentiment(0, 0) == "neutral"


def test_category_ties_follow_the_priority() -> None:
    """Ties go complaint > appointment > inquiry > feedback > general."""
    assert top_category(Counter({"feedback": 1, "complaint": 1})) == "complaint"
    assert top_category(Counter({"inquiry": 2, "appointment": 2})) == "appointment"
    assert top_category(Counter({"inquiry": 2, "complaint": 1})) == "inquiry"
    assert top_category(Counter()) == "general"
