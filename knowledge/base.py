"""The curated knowledge base the bots answer from."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from knowledge.entries import DATA_DIR, Entry, load_entries, split_steps
from knowledge.profile import CityProfile, UnknownProfileKey
from translations.languages import fallback_chain

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnswerLink:
    """A link ready to show: title in the reader's language, URL with profile values."""

    title: str
    url: str


@dataclass(frozen=True)
class Answer:
    """A curated answer in the best available language."""

    topic: str
    title: str
    text: str
    #: The language the text is written in (differs from the asked one on fallback).
    language: str
    links: tuple[AnswerLink, ...]
    related: tuple[str, ...]
    steps: tuple[str, ...]
    machine_translated: bool


class CuratedKnowledgeBase:
    """Entries of every bot with answers rendered from the city profile."""

    def __init__(self, entries: Mapping[str, Mapping[str, Entry]], profile: CityProfile) -> None:
        self._entries = {bot: dict(topics) for bot, topics in entries.items()}
        self.profile = profile

    @classmethod
    def load(cls, data_dir: Path = DATA_DIR, profile: CityProfile | None = None) -> CuratedKnowledgeBase:
        """Read every entry and the profile from ``data_dir``."""
        return cls(load_entries(data_dir), profile or CityProfile.load(data_dir / "city_profile.yml"))

    def topics(self, bot: str) -> tuple[str, ...]:
        """Topic ids the bot has entries for."""
        return tuple(self._entries.get(bot, {}))

    def entry(self, bot: str, topic: str) -> Entry | None:
        """The raw entry (for validation and reports)."""
        return self._entries.get(bot, {}).get(topic)

    def examples(self, bot: str) -> dict[str, list[str]]:
        """Example questions of every entry of ``bot`` in all languages (NLU training data)."""
        return {
            topic: [q for questions in entry.questions.values() for q in questions]
            for topic, entry in self._entries.get(bot, {}).items()
        }

    def title(self, bot: str, topic: str, language: str) -> str | None:
        """The entry's short title in ``language`` (or its fallback)."""
        entry = self.entry(bot, topic)
        if entry is None:
            return None
        return _pick(entry.title, language)[0] or None

    def answer(self, bot: str, topic: str, language: str) -> Answer | None:
        """The curated answer with city facts filled in, or None when the bot has no such entry."""
        entry = self.entry(bot, topic)
        if entry is None:
            return None
        text, used = _pick(entry.answer, language)
        if not text:
            return None
        try:
            filled = self.profile.fill(text, used)
            links = tuple(
                AnswerLink(title=_pick(link.title, language)[0], url=self.profile.fill(link.url, used))
                for link in entry.links
            )
        except UnknownProfileKey as exc:
            # `yorisoi kb validate` reports this; never show a half-filled answer.
            log.error("entry %s/%s refers to unknown profile key %s", bot, topic, exc)
            return None
        return Answer(
            topic=topic, title=_pick(entry.title, language)[0], text=filled, language=used, links=links,
            related=entry.related, steps=split_steps(filled), machine_translated=used in entry.machine_translated,
        )


def _pick(texts: Mapping[str, str], language: str) -> tuple[str, str]:
    for candidate in fallback_chain(language):
        if texts.get(candidate):
            return texts[candidate], candidate
    return "", language
