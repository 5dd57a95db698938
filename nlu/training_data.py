"""NLU training data in Rasa 3 YAML, and loading one bot's training data.

Files follow Rasa 3::

    version: "3.1"
    nlu:
    - intent: greet
      examples: |
        - hello
        - is the [North Ward](ward) office crowded?
    - synonym: north          # canonical value
      examples: |
        - 北区
    - regex: library_card
      examples: |
        - (?<!\\d)2\\d{9}(?!\\d)
    - lookup: district
      examples: |
        - 中央地区

:class:`RasaNluData` keeps example lines verbatim (annotations included), so
reading and writing a file is lossless for intents, examples, synonyms, regexes
and lookups. :func:`parse_annotated` turns one annotated line into an
:class:`~nlu.types.Example` with entities.

Layout read by :func:`load_bot_training_data`: ``<data_dir>/common/*.yml``
(system intents and ``out_of_scope``, shared by every bot) and
``<data_dir>/<bot>/*.yml``; knowledge-base questions arrive from the caller as
``extra_examples`` (the NLU never imports the knowledge package).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nlu.types import OUT_OF_SCOPE, BotTrainingData, Entity, EntityResources, Example

LOG = logging.getLogger(__name__)
RASA_VERSION = "3.1"
#: Where the project's own NLU data lives (``nlu/data``).
DEFAULT_DATA_DIR = Path(__file__).resolve().parent / "data"
COMMON_DIR = "common"
_SECTIONS = ("intent", "synonym", "regex", "lookup")
# [text](entity) or [text](entity:value)   |   [text]{"entity": "x", "value": "y"}
_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<short>[^)]+)\)|(?P<json>\{[^}]*\}))")


class TrainingDataError(ValueError):
    """A training-data file is malformed; the message names the file and the problem."""


@dataclass
class RasaNluData:
    """The ``nlu:`` section of one or more Rasa files, lines kept verbatim.

    Each mapping goes from a name (intent, canonical synonym value, regex or
    lookup name) to its example lines, in file order.
    """

    intents: dict[str, list[str]] = field(default_factory=dict)
    synonyms: dict[str, list[str]] = field(default_factory=dict)
    regexes: dict[str, list[str]] = field(default_factory=dict)
    lookups: dict[str, list[str]] = field(default_factory=dict)

    def section(self, kind: str) -> dict[str, list[str]]:
        """The mapping of one section kind ("intent", "synonym", "regex", "lookup")."""
        return {"intent": self.intents, "synonym": self.synonyms, "regex": self.regexes,
                "lookup": self.lookups}[kind]

    def merge(self, other: RasaNluData) -> RasaNluData:
        """Add ``other``'s lines to this data (duplicates within a name dropped); returns self."""
        for kind in _SECTIONS:
            mine = self.section(kind)
            for name, lines in other.section(kind).items():
                target = mine.setdefault(name, [])
                seen = set(target)
                for line in lines:
                    if line not in seen:
                        target.append(line)
                        seen.add(line)
        return self


def _split_examples(block: Any, source: str) -> list[str]:
    if block is None:
        return []
    if isinstance(block, list):  # the long form: - text: "..." (metadata ignored)
        return [str(item["text"] if isinstance(item, dict) else item).strip() for item in block]
    if not isinstance(block, str):
        raise TrainingDataError(f"{source}: 'examples' must be a block of '- text' lines")
    lines: list[str] = []
    for raw in block.splitlines():
        stripped = raw.strip()
        if not stripped:
            continue
        if not stripped.startswith("-"):
            raise TrainingDataError(f"{source}: example line {stripped!r} does not start with '- '")
        text = stripped[1:].strip()
        if text:
            lines.append(text)
    return lines


def parse_rasa_yaml(text: str, source: str = "<string>") -> RasaNluData:
    """Parse the text of a Rasa 3 YAML file (other top-level keys such as stories are ignored)."""
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise TrainingDataError(f"{source}: not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise TrainingDataError(f"{source}: expected a mapping with an 'nlu:' list")
    data = RasaNluData()
    for index, item in enumerate(document.get("nlu") or []):
        if not isinstance(item, dict):
            raise TrainingDataError(f"{source}: nlu item {index + 1} is not a mapping")
        kinds = [kind for kind in _SECTIONS if kind in item]
        if len(kinds) != 1:
            raise TrainingDataError(f"{source}: nlu item {index + 1} needs exactly one of {_SECTIONS}")
        kind = kinds[0]
        name = str(item[kind])
        lines = _split_examples(item.get("examples"), f"{source} ({kind}: {name})")
        target = data.section(kind).setdefault(name, [])
        target.extend(line for line in lines if line not in target)
    return data


def read_rasa_nlu(path: Path) -> RasaNluData:
    """Read one Rasa YAML file, or every ``*.yml`` / ``*.yaml`` file under a directory."""
    if path.is_dir():
        data = RasaNluData()
        for file in sorted([*path.rglob("*.yml"), *path.rglob("*.yaml")]):
            data.merge(parse_rasa_yaml(file.read_text(encoding="utf-8"), str(file)))
        return data
    return parse_rasa_yaml(path.read_text(encoding="utf-8"), str(path))


def dump_rasa_yaml(data: RasaNluData) -> str:
    """Serialise to Rasa 3 YAML text (``examples: |`` blocks, lines verbatim)."""
    out = [f'version: "{RASA_VERSION}"', "", "nlu:"]
    for kind in _SECTIONS:
        for name, lines in data.section(kind).items():
            out.append(f"- {kind}: {_yaml_scalar(name)}")
            if not lines:
                out.append('  examples: ""')
            else:
                out.append("  examples: |")
                out.extend(f"    - {line}" for line in lines)
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-.]*$")
_YAML_SPECIAL_WORDS = frozenset(["y", "n", "yes", "no", "true", "false", "on", "off", "null", "~"])


def _yaml_scalar(value: str) -> str:
    """A name as a YAML scalar: plain when safe, else a JSON (= YAML) quoted string."""
    if _PLAIN_NAME.match(value) and value.lower() not in _YAML_SPECIAL_WORDS:
        return value
    return json.dumps(value, ensure_ascii=False)


def write_rasa_nlu(data: RasaNluData, path: Path) -> None:
    """Write ``data`` as one Rasa 3 YAML file (parent directories created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_rasa_yaml(data), encoding="utf-8")


def parse_annotated(line: str) -> Example:
    """Turn ``"is [North Ward](ward) busy"`` into the plain text and its entities.

    Supports ``[text](entity)``, ``[text](entity:value)`` and
    ``[text]{"entity": "x", "value": "y"}``; ``value`` defaults to the text.
    """
    pieces: list[str] = []
    entities: list[Entity] = []
    position = 0
    length = 0
    for match in _ANNOTATION.finditer(line):
        before = line[position : match.start()]
        pieces.append(before)
        length += len(before)
        surface = match.group("text")
        entity_type, value = _annotation_target(match)
        entities.append(Entity(type=entity_type, value=value or surface, text=surface,
                               start=length, end=length + len(surface)))
        pieces.append(surface)
        length += len(surface)
        position = match.end()
    pieces.append(line[position:])
    return Example(text="".join(pieces), entities=tuple(entities))


def _annotation_target(match: re.Match[str]) -> tuple[str, str | None]:
    if match.group("short") is not None:
        entity_type, _, value = match.group("short").partition(":")
        return entity_type.strip(), value.strip() or None
    try:
        spec = json.loads(match.group("json"))
    except json.JSONDecodeError:
        return "unknown", None
    value = spec.get("value")
    return str(spec.get("entity", "unknown")), None if value is None else str(value)


def annotate(example: Example) -> str:
    """Inverse of :func:`parse_annotated` (entities written back inline)."""
    out: list[str] = []
    position = 0
    for entity in sorted(example.entities, key=lambda item: item.start):
        out.append(example.text[position : entity.start])
        surface = example.text[entity.start : entity.end]
        if entity.value == surface:
            out.append(f"[{surface}]({entity.type})")
        else:
            spec = json.dumps({"entity": entity.type, "value": entity.value}, ensure_ascii=False)
            out.append(f"[{surface}]{spec}")
        position = entity.end
    out.append(example.text[position:])
    return "".join(out)


def entity_resources(data: RasaNluData) -> EntityResources:
    """The regexes, lookup tables and synonyms of ``data`` as an :class:`EntityResources`."""
    return EntityResources(
        regexes={name: tuple(lines) for name, lines in data.regexes.items()},
        lookups={name: tuple(lines) for name, lines in data.lookups.items()},
        synonyms={name: tuple(lines) for name, lines in data.synonyms.items()},
    )


def read_group(directory: Path) -> RasaNluData:
    """The Rasa data of one folder (e.g. ``nlu/data/common``); empty when the folder does not exist."""
    return read_rasa_nlu(directory) if directory.is_dir() else RasaNluData()


def load_bot_training_data(
    data_dir: Path,
    bot: str,
    topics: Sequence[str],
    extra_examples: Mapping[str, Sequence[str]] | None = None,
) -> BotTrainingData:
    """Assemble one bot's training data.

    ``topics``: the bot's topic space (system topics are added if missing);
    examples of intents outside it are ignored. ``extra_examples``: more
    examples per topic, e.g. the knowledge base's ``questions`` (all languages
    flattened). ``out_of_scope`` examples are always kept.
    """
    raw = read_group(data_dir / COMMON_DIR).merge(read_group(data_dir / bot))
    for topic, lines in (extra_examples or {}).items():
        raw.intents.setdefault(topic, [])
        raw.intents[topic].extend(line.strip() for line in lines if line and line.strip())
    topic_space = list(dict.fromkeys([*topics, *(t for t in raw.intents if t in SYSTEM_TOPICS)]))
    examples: dict[str, tuple[Example, ...]] = {}
    for topic, lines in raw.intents.items():
        if topic != OUT_OF_SCOPE and topic not in topic_space:
            LOG.info("nlu data: %s examples of %r ignored for bot %s (not in its topics)", len(lines), topic, bot)
            continue
        unique = list(dict.fromkeys(lines))
        examples[topic] = tuple(parse_annotated(line) for line in unique)
    missing = [topic for topic in topic_space if not examples.get(topic)]
    if missing:
        LOG.warning("nlu data: bot %s has no training examples for %s", bot, ", ".join(missing))
    return BotTrainingData(
        bot=bot,
        topics=tuple(t for t in topic_space if t != OUT_OF_SCOPE),
        examples=examples,
        resources=entity_resources(raw),
    )


#: System topics shared by every bot (from the topics contract).
SYSTEM_TOPICS: tuple[str, ...] = (
    "greet", "goodbye", "thanks", "change_language", "talk_to_staff", "request_interpreter", "restart",
)


def training_data_hash(bots: Iterable[BotTrainingData]) -> str:
    """A stable hash of all examples and resources (stored in the model artifact)."""
    digest = hashlib.sha256()
    for data in sorted(bots, key=lambda item: item.bot):
        digest.update(f"bot:{data.bot}\n".encode())
        for topic in sorted(data.examples):
            digest.update(f"topic:{topic}\n".encode())
            for example in data.examples[topic]:
                digest.update(annotate(example).encode() + b"\n")
        for kind, table in (("regex", data.resources.regexes), ("lookup", data.resources.lookups),
                            ("synonym", data.resources.synonyms)):
            for name in sorted(table):
                digest.update(f"{kind}:{name}={json.dumps(table[name], ensure_ascii=False)}\n".encode())
    return digest.hexdigest()[:16]


def import_rasa_project(source: Path, target: Path) -> RasaNluData:
    """``yorisoi nlu import``: read a Rasa project's NLU data and write it as one of our files.

    ``source`` may be a Rasa project (its ``data/`` folder is read), a folder of
    YAML files, or one ``nlu.yml``. Existing content of ``target`` is kept and
    the imported lines are merged in.
    """
    folder = source / "data" if (source / "data").is_dir() else source
    imported = read_rasa_nlu(folder)
    merged = read_rasa_nlu(target) if target.exists() else RasaNluData()
    merged.merge(imported)
    write_rasa_nlu(merged, target)
    return imported


def export_bot_to_rasa(
    data_dir: Path,
    bot: str,
    target: Path,
    extra_examples: Mapping[str, Sequence[str]] | None = None,
) -> RasaNluData:
    """``yorisoi nlu export``: one Rasa ``nlu.yml`` with a bot's common + own data + extra examples."""
    data = read_group(data_dir / COMMON_DIR).merge(read_group(data_dir / bot))
    extra = RasaNluData(intents={topic: [line.strip() for line in lines if line.strip()]
                                 for topic, lines in (extra_examples or {}).items()})
    data.merge(extra)
    write_rasa_nlu(data, target)
    return data
