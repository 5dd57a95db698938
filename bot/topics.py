"""The topic contract (``bot/spec/topics.yml``): which topic ids exist, their kind and bot."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

TOPICS_PATH = Path(__file__).resolve().parent / "spec" / "topics.yml"
SYSTEM_GROUP = "system"


@dataclass(frozen=True)
class Topic:
    """One contract topic."""

    id: str
    kind: str  # faq | task | system
    group: str
    description: str


class TopicContract:
    """All topics, grouped; a bot's topic space is the system topics plus its groups."""

    def __init__(self, topics: list[Topic]) -> None:
        self._topics = {topic.id: topic for topic in topics}

    @classmethod
    def load(cls, path: Path = TOPICS_PATH) -> TopicContract:
        """Read the contract file."""
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        topics = [
            Topic(id=str(item["id"]), kind=str(item["kind"]), group=group, description=str(item.get("en", "")))
            for group, items in data.items()
            for item in items or []
        ]
        return cls(topics)

    def get(self, topic_id: str) -> Topic | None:
        """The topic with ``topic_id``, if it exists."""
        return self._topics.get(topic_id)

    def space(self, groups: tuple[str, ...]) -> tuple[Topic, ...]:
        """System topics plus the topics of ``groups`` (a bot's topic space)."""
        wanted = {SYSTEM_GROUP, *groups}
        return tuple(topic for topic in self._topics.values() if topic.group in wanted)

    def all(self) -> tuple[Topic, ...]:
        """Every topic of the contract."""
        return tuple(self._topics.values())
