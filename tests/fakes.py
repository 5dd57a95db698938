"""Test doubles. ``RuleNlu`` stands in for the trained NLU where a test is about the engine.

It is deliberately dumb and explicit: a test states which text means which topic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from nlu.types import OUT_OF_SCOPE, Candidate, Entity, NluResult

_KANA = re.compile(r"[\u3040-\u30ff]")


@dataclass
class RuleNlu:
    """Maps texts (substring, case-insensitive) to a topic, entities and a confidence."""

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
        language = "ja" if _KANA.search(text) or re.search(r"[\u4e00-\u9fff]", text) else "en"
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
