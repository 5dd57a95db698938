"""What the engine understands and answers from: a rule NLU, a dict knowledge base, a fixed KB search.

They are deliberately dumb and explicit: a test states which text means which topic
(:class:`RuleNlu`), which answer a topic has (:class:`MemoryKnowledge`) and what the KB search
suggests (:class:`FakeTopicSearch`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from bot.protocols import KnowledgeBase, TopicSearch, Understanding
from knowledge.base import Answer
from nlu.types import OUT_OF_SCOPE, Candidate, Entity, NluResult

_KANA = re.compile(r"[\u3040-\u30ff]")
_KANJI = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class RuleNlu(Understanding):
    """Maps texts (substring, case-insensitive) to a topic, entities and a confidence.

    Kana or kanji mean Japanese, anything else English; a one-word message without kana keeps the
    conversation's language. ``calls`` lists every text parsed.
    """

    rules: list[tuple[str, str, float]] = field(default_factory=list)
    entities: dict[str, list[Entity]] = field(default_factory=dict)
    candidates: dict[str, tuple[Candidate, ...]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def add(self, text: str, topic: str, confidence: float = 0.95) -> RuleNlu:
        """``text`` (substring) means ``topic``."""
        self.rules.append((text.lower(), topic, confidence))
        return self

    def parse(
        self, bot: str, text: str, *, preferred_language: str | None = None, today: date | None = None
    ) -> NluResult:
        """A result from the first matching rule (kana means Japanese, else English)."""
        self.calls.append(text)
        language = "ja" if _KANA.search(text) or _KANJI.search(text) else "en"
        if len(text.split()) < 2 and preferred_language and not _KANA.search(text):
            language = preferred_language
        topic, confidence = OUT_OF_SCOPE, 0.1
        for needle, rule_topic, rule_confidence in self.rules:
            if needle in text.lower():
                topic, confidence = rule_topic, rule_confidence
                break
        found = tuple(e for needle, ents in self.entities.items() if needle in text.lower() for e in ents)
        return NluResult(
            language=language, language_confidence=0.99, topic=topic, confidence=confidence,
            candidates=self.candidates.get(text, ()), ambiguous=False, entities=found, normalized_text=text,
        )


@dataclass
class MemoryKnowledge(KnowledgeBase):
    """Curated answers from dictionaries: ``answers[bot][topic][language]`` is the text.

    A language without a text falls back along ``fallback`` (English, then Japanese), as the
    curated KB does; the answer's ``language`` says which one was used. Build it with :meth:`add`.
    """

    answers: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    titles: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    questions: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    related: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    fallback: tuple[str, ...] = ("en", "ja")

    def add(self, bot: str, topic: str, texts: Mapping[str, str], *, titles: Mapping[str, str] | None = None,
            questions: Sequence[str] = (), related: Sequence[str] = ()) -> MemoryKnowledge:
        """An entry of ``bot`` on ``topic``: its text and title per language, example questions, related topics."""
        self.answers.setdefault(bot, {})[topic] = dict(texts)
        self.titles.setdefault(bot, {})[topic] = dict(titles or {})
        self.questions.setdefault(bot, {})[topic] = list(questions)
        self.related.setdefault(bot, {})[topic] = tuple(related)
        return self

    def topics(self, bot: str) -> tuple[str, ...]:
        """Topic ids with an entry for ``bot``."""
        return tuple(self.answers.get(bot, {}))

    def examples(self, bot: str) -> dict[str, list[str]]:
        """Example questions per topic."""
        return {topic: list(found) for topic, found in self.questions.get(bot, {}).items()}

    def title(self, bot: str, topic: str, language: str) -> str | None:
        """The entry's title in ``language`` or its fallback; None without an entry or title."""
        chosen = self._best(self.titles.get(bot, {}).get(topic, {}), language)
        return chosen[1] if chosen else None

    def answer(self, bot: str, topic: str, language: str) -> Answer | None:
        """The entry's text in ``language`` or its fallback; None when ``bot`` has no entry on ``topic``."""
        chosen = self._best(self.answers.get(bot, {}).get(topic, {}), language)
        if chosen is None:
            return None
        used, text = chosen
        return Answer(topic=topic, title=self.title(bot, topic, language) or topic, text=text, language=used,
                      links=(), related=self.related.get(bot, {}).get(topic, ()), steps=(), machine_translated=False)

    def _best(self, texts: Mapping[str, str], language: str) -> tuple[str, str] | None:
        for candidate in (language, *self.fallback):
            if candidate in texts:
                return candidate, texts[candidate]
        return None


@dataclass
class FakeTopicSearch(TopicSearch):
    """KB search that suggests ``hits`` (or ``by_bot[bot]``) for every text; ``calls`` records (bot, text)."""

    hits: list[tuple[str, float]] = field(default_factory=list)
    by_bot: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)

    def search(self, bot: str, text: str, k: int = 3) -> list[tuple[str, float]]:
        """The configured topics with scores, best first, at most ``k``."""
        self.calls.append((bot, text))
        return list(self.by_bot.get(bot, self.hits))[:k]
