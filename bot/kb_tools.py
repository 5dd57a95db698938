"""Checks and reports over the knowledge base: ``yorisoi kb validate|report|export``.

Lives in ``bot`` because it joins the KB with the topic contract and the configured
bots; every problem names the file and, where it can, the line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bot.config import SUPPORTED_LANGUAGES, AppConfig
from bot.config_loader import ConfigFileError, LoadedYaml, load_yaml_with_lines
from bot.topics import TopicContract
from knowledge.entries import DATA_DIR
from knowledge.profile import CityProfile
from languages import ALL_CODES

#: Languages whose answers are not curated yet: they fall back to English (see ``languages.fallback_chain``).
UNCURATED_LANGUAGES: frozenset[str] = frozenset({"my"})
#: Languages every answer is curated in: every registered language but :data:`UNCURATED_LANGUAGES`.
CURATED_LANGUAGES: tuple[str, ...] = tuple(code for code in ALL_CODES if code not in UNCURATED_LANGUAGES)
REQUIRED_FIELDS = ("id", "title", "questions", "answer")
KNOWN_FIELDS = frozenset({*REQUIRED_FIELDS, "category", "links", "related", "last_reviewed",
                          "machine_translated", "needs_review"})


@dataclass(frozen=True)
class Problem:
    """One finding of ``kb validate``."""

    path: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.message}"


def validate_kb(config: AppConfig, data_dir: Path = DATA_DIR) -> list[Problem]:
    """Every problem of the KB: schema, languages, ids, profile keys, related topics, coverage."""
    contract = TopicContract.load()
    profile_path = data_dir / "city_profile.yml"
    problems = _validate_profile(profile_path)
    profile = CityProfile.load(profile_path)
    for bot, bot_config in config.bots.items():
        faq_topics = {t.id for t in contract.space(bot_config.topic_groups) if t.kind == "faq"}
        space = {t.id for t in contract.space(bot_config.topic_groups)}
        seen: dict[str, Path] = {}
        for path in sorted((data_dir / bot).glob("*.yml")):
            try:
                loaded = load_yaml_with_lines(path, environ={})
            except ConfigFileError as error:
                problems.append(Problem(path, None, str(error).split(": ", 1)[-1]))
                continue
            problems += _validate_entry(loaded, faq_topics, space, profile, seen)
        for topic in sorted(faq_topics - set(seen)):
            problems.append(Problem(data_dir / bot, None, f"faq topic {topic!r} has no entry"))
    return problems


def _validate_profile(path: Path) -> list[Problem]:
    loaded = load_yaml_with_lines(path, environ={})
    problems: list[Problem] = []

    def walk(node: Any, location: tuple[str | int, ...]) -> None:
        if isinstance(node, dict):
            if "ja" in node or "en" in node:
                for stray in (key for key in node if key not in SUPPORTED_LANGUAGES):
                    problems.append(Problem(path, loaded.line_of((*location, stray)),
                                            f"{'.'.join(map(str, location))}: {stray!r} is not a language "
                                            "(an unquoted comma splits a value: quote it)"))
            for key, value in node.items():
                walk(value, (*location, key))
        elif location and location[-1] in CURATED_LANGUAGES and not isinstance(node, str):
            # An unquoted "1,000円" inside {ja: ..., en: ...} is split by YAML: catch it here.
            problems.append(Problem(path, loaded.line_of(location),
                                    f"{'.'.join(map(str, location))}: {node!r} is not text (quote the value)"))

    walk(loaded.data, ())
    return problems


def _validate_entry(loaded: LoadedYaml, faq_topics: set[str], space: set[str], profile: CityProfile,
                    seen: dict[str, Path]) -> list[Problem]:
    path, data = loaded.path, loaded.data
    if not isinstance(data, dict):
        return [Problem(path, 1, "an entry must be a mapping with id, title, questions and answer")]
    problems = [Problem(path, 1, f"missing field {name!r}") for name in REQUIRED_FIELDS if name not in data]
    problems += [Problem(path, loaded.line_of((name,)), f"unknown field {name!r}") for name in data
                 if name not in KNOWN_FIELDS]
    topic = str(data.get("id", ""))
    if topic:
        if topic in seen:
            problems.append(Problem(path, loaded.line_of(("id",)), f"duplicate id {topic!r} (also {seen[topic]})"))
        seen[topic] = path
        if topic not in faq_topics:
            problems.append(Problem(path, loaded.line_of(("id",)),
                                    f"id {topic!r} is not a faq topic of this bot in topics.yml"))
        if path.stem != topic:
            problems.append(Problem(path, loaded.line_of(("id",)), f"file name should be {topic}.yml"))
    for field in ("title", "questions", "answer"):
        value = data.get(field)
        if field in data and not isinstance(value, dict):
            problems.append(Problem(path, loaded.line_of((field,)), f"{field} must map languages to text"))
            continue
        missing = [lang for lang in CURATED_LANGUAGES if not (value or {}).get(lang)]
        if missing and field in data:
            problems.append(Problem(path, loaded.line_of((field,)), f"{field} is missing {', '.join(missing)}"))
    for language, text in (data.get("answer") or {}).items():
        if not isinstance(text, str):
            problems.append(Problem(path, loaded.line_of(("answer", language)), f"answer.{language} must be text"))
            continue
        for key in profile.missing_keys(text):
            problems.append(Problem(path, loaded.line_of(("answer", language)),
                                    f"answer.{language}: unknown profile key {{{key}}}"))
    for index, link in enumerate(data.get("links") or []):
        url = str(link.get("url", "")) if isinstance(link, dict) else ""
        if not url:
            problems.append(Problem(path, loaded.line_of(("links", index)), "a link needs a url"))
        for key in profile.missing_keys(url):
            problems.append(Problem(path, loaded.line_of(("links", index)), f"link: unknown profile key {{{key}}}"))
    for index, related in enumerate(data.get("related") or []):
        if related not in space:
            problems.append(Problem(path, loaded.line_of(("related", index)),
                                    f"related topic {related!r} is not a topic of this bot"))
    reviewed = data.get("last_reviewed")
    if reviewed is not None and not isinstance(reviewed, date):
        problems.append(Problem(path, loaded.line_of(("last_reviewed",)), "last_reviewed must be a date YYYY-MM-DD"))
    return problems


def coverage(config: AppConfig, data_dir: Path = DATA_DIR) -> dict[str, dict[str, tuple[int, int]]]:
    """Per bot and language: (faq topics answered in that language, faq topics of the bot)."""
    from knowledge.entries import load_entries

    contract = TopicContract.load()
    entries = load_entries(data_dir)
    table: dict[str, dict[str, tuple[int, int]]] = {}
    for bot, bot_config in config.bots.items():
        faq = [t.id for t in contract.space(bot_config.topic_groups) if t.kind == "faq"]
        bot_entries = entries.get(bot, {})
        table[bot] = {
            language: (sum(1 for t in faq if t in bot_entries and bot_entries[t].answer.get(language)), len(faq))
            for language in CURATED_LANGUAGES
        }
    return table


def export_summary(data_dir: Path = DATA_DIR) -> list[dict[str, Any]]:
    """``[{"bot", "id", "languages", "machine_translated"}]`` for every entry."""
    from knowledge.entries import load_entries

    return [
        {"bot": bot, "id": topic, "languages": sorted(entry.answer),
         "machine_translated": list(entry.machine_translated)}
        for bot, topics in sorted(load_entries(data_dir).items())
        for topic, entry in sorted(topics.items())
    ]

