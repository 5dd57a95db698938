"""Knowledge-base entries: one YAML file per topic in ``knowledge/data/<bot>/``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).resolve().parent / "data"
_STEP = re.compile(r"^\s*(\d{1,2})[.．)）]\s*(.+)$")


@dataclass(frozen=True)
class EntryLink:
    """A link of an entry: a title per language and a URL (may hold profile placeholders)."""

    title: dict[str, str]
    url: str


@dataclass(frozen=True)
class Entry:
    """One curated answer with its example questions."""

    id: str
    bot: str
    path: Path
    category: str = ""
    title: dict[str, str] = field(default_factory=dict)
    questions: dict[str, list[str]] = field(default_factory=dict)
    answer: dict[str, str] = field(default_factory=dict)
    links: tuple[EntryLink, ...] = ()
    related: tuple[str, ...] = ()
    last_reviewed: date | None = None
    machine_translated: tuple[str, ...] = ()
    needs_review: tuple[str, ...] = ()


class EntryError(ValueError):
    """An entry file cannot be read; the message names the file."""


def load_entry(path: Path, bot: str) -> Entry:
    """Read one entry file (shape problems are reported by ``yorisoi kb validate``)."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise EntryError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(data, dict) or "id" not in data:
        raise EntryError(f"{path}: an entry needs at least an id")
    links = tuple(
        EntryLink(title=_text_map(link.get("title")), url=str(link.get("url", "")))
        for link in data.get("links") or []
        if isinstance(link, dict)
    )
    reviewed = data.get("last_reviewed")
    return Entry(
        id=str(data["id"]),
        bot=bot,
        path=path,
        category=str(data.get("category") or ""),
        title=_text_map(data.get("title")),
        questions={str(lang): [str(q) for q in qs or []] for lang, qs in (data.get("questions") or {}).items()},
        answer=_text_map(data.get("answer")),
        links=links,
        related=tuple(str(topic) for topic in data.get("related") or []),
        last_reviewed=reviewed if isinstance(reviewed, date) else None,
        machine_translated=tuple(data.get("machine_translated") or ()),
        needs_review=tuple(data.get("needs_review") or ()),
    )


def load_entries(data_dir: Path = DATA_DIR) -> dict[str, dict[str, Entry]]:
    """All entries, by bot and topic id (``<bot>/<topic>.yml``)."""
    entries: dict[str, dict[str, Entry]] = {}
    for bot_dir in sorted(p for p in data_dir.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        for path in sorted(bot_dir.glob("*.yml")):
            entry = load_entry(path, bot_dir.name)
            entries.setdefault(bot_dir.name, {})[entry.id] = entry
    return entries


def split_steps(text: str) -> tuple[str, ...]:
    """The numbered steps of a guide ("1. ...", "2. ..."), or () when the text has none."""
    steps = [match.group(2).strip() for line in text.splitlines() if (match := _STEP.match(line))]
    return tuple(steps) if len(steps) >= 2 else ()


def _text_map(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(lang): str(text).strip() for lang, text in value.items() if text is not None}
    return {"en": str(value).strip()} if value else {}
