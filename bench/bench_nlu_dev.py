"""Yorisoi NLU vs two baselines on the project's labelled dev queries.

Training data (identical for all three systems): nlu/data (system, task and
out_of_scope intents) + the knowledge base's ``questions``; topic spaces from
the topics contract. Evaluation split: ``../shared/eval/dev.jsonl`` (dev; never
used for training or tuning). Baselines: char 1-4-gram TF-IDF + logistic
regression, and fastText supervised, one model per bot, out_of_scope as a class.

Run: ``OMP_NUM_THREADS=1 python bench/bench_nlu_dev.py`` (embeddings are cached
under var/nlu-bench/, so the second run trains in seconds).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nlu.evaluation import (  # noqa: E402
    FastTextBaseline,
    LabelledQuery,
    TfidfLogRegBaseline,
    load_all_bots,
    read_eval_jsonl,
)
from nlu.pipeline import NluPipeline, _labelled_rows  # noqa: E402
from nlu.training_data import DEFAULT_DATA_DIR  # noqa: E402
from nlu.types import ALL_LANGUAGES, OUT_OF_SCOPE, NluSettings  # noqa: E402

SHARED = REPO.parent / "shared"
DEV = SHARED / "eval" / "dev.jsonl"
WORK = REPO / "var" / "nlu-bench"


def spec_path() -> Path:
    """The topics contract: the repo's copy if present, else shared/spec."""
    for candidate in (REPO / "bot" / "spec" / "topics.yml", SHARED / "spec" / "topics.yml"):
        if candidate.exists():
            return candidate
    raise FileNotFoundError("topics.yml not found")


def score(rows: list[LabelledQuery], predicted: list[str]) -> dict[str, float]:
    """In-scope top-1 (rejections count as wrong), OOS recall, false-OOS rate, per-language top-1."""
    hits: dict[str, list[int]] = defaultdict(list)
    for row, guess in zip(rows, predicted, strict=True):
        if row.topic == OUT_OF_SCOPE:
            hits["oos"].append(int(guess == OUT_OF_SCOPE))
        else:
            hits["in"].append(int(guess == row.topic))
            hits["false_oos"].append(int(guess == OUT_OF_SCOPE))
            hits["lang:" + row.language].append(int(guess == row.topic))
    return {key: sum(values) / len(values) for key, values in hits.items() if values}


def main() -> int:
    """Train the three systems and print Markdown tables."""
    if not DEV.exists():
        print(f"SKIP: {DEV} not found (the shared eval data is not beside the repo)")
        return 0
    logging.basicConfig(level=logging.ERROR)
    bots = load_all_bots(DEFAULT_DATA_DIR, REPO / "knowledge" / "data", spec_path())
    dev = read_eval_jsonl(DEV)
    settings = NluSettings(languages=ALL_LANGUAGES)
    report = NluPipeline.train(bots, settings, WORK / "model", WORK / "cache")
    nlu = NluPipeline.load(WORK / "model", settings, WORK / "cache")
    ours = [nlu.parse(row.bot, row.text) for row in dev]
    no_skip = NluPipeline.load(WORK / "model", dataclasses.replace(settings, encoder_skip=False), WORK / "cache")
    always_encode = [no_skip.parse(row.bot, row.text) for row in dev]

    tfidf_pred: list[str] = []
    fasttext_pred: list[str] = []
    baseline_models = {}
    for bot, data in bots.items():
        rows = _labelled_rows(data)
        texts, labels = [t for t, _ in rows], [lbl for _, lbl in rows]
        baseline_models[bot] = (TfidfLogRegBaseline().fit(texts, labels), FastTextBaseline().fit(texts, labels))
    for row in dev:
        tfidf, fast = baseline_models[row.bot]
        probabilities = tfidf.predict_proba([row.text])[0]
        tfidf_pred.append(tfidf.classes[int(probabilities.argmax())])
        fasttext_pred.append(fast.predict(row.text)[0])

    systems = {"Yorisoi NLU (e5 + char TF-IDF, calibrated)": [r.topic for r in ours],
               "Yorisoi NLU, encoder always run (no skip)": [r.topic for r in always_encode],
               "TF-IDF char n-gram + LR": tfidf_pred, "fastText supervised": fasttext_pred}
    scores = {name: score(dev, predicted) for name, predicted in systems.items()}
    print("## NLU on dev.jsonl (split: dev; training: nlu/data + KB questions)\n")
    print(f"{len(dev)} queries; training examples per bot: {report.bots}; "
          f"train {report.seconds:.1f} s (embedding {report.embed_seconds:.1f} s, "
          f"cache hits {report.cache_hits}, misses {report.cache_misses}); latency: see bench_latency.py\n")
    print("| system | in-scope top-1 | OOS recall | in-scope wrongly rejected |")
    print("|---|---:|---:|---:|")
    for name, result in scores.items():
        print(f"| {name} | {pct(result.get('in'))} | {pct(result.get('oos'))} | {pct(result.get('false_oos'))} |")
    skipped = [r.encoder_skipped for r in ours]
    changed = sum(1 for a, b in zip(ours, always_encode, strict=True) if a.topic != b.topic)
    rules = ", ".join(f"{bot} {clf.calibration.skip_margin:.2f} (validation: skips "
                      f"{pct(clf.calibration.validation_skip_rate)}, agreement "
                      f"{pct(clf.calibration.validation_skip_agreement)})" for bot, clf in nlu.classifiers.items())
    print(f"\nEncoder skip: {sum(skipped)}/{len(dev)} dev queries ({pct(sum(skipped) / len(dev))}) parsed without "
          f"the encoder; topic differs from the always-encode run on {changed}. Calibrated SVM-margin thresholds: "
          f"{rules}.")
    languages = [code for code in ALL_LANGUAGES if any(row.language == code for row in dev)]
    print("\n### In-scope top-1 per language\n")
    print("| system | " + " | ".join(languages) + " |")
    print("|---|" + "---:|" * len(languages))
    for name, result in scores.items():
        print(f"| {name} | " + " | ".join(pct(result.get("lang:" + code)) for code in languages) + " |")
    flagged = [(r.topic == row.topic) for row, r in zip(dev, ours, strict=True)
               if row.topic != OUT_OF_SCOPE and r.ambiguous]
    clear = [(r.topic == row.topic) for row, r in zip(dev, ours, strict=True)
             if row.topic != OUT_OF_SCOPE and not r.ambiguous and r.topic != OUT_OF_SCOPE]
    print(f"\nAmbiguous (margin {settings.ambiguity_margin}): {len(flagged)} in-scope queries flagged, top-1 "
          f"{pct(sum(flagged) / len(flagged) if flagged else None)} when flagged vs "
          f"{pct(sum(clear) / len(clear) if clear else None)} when not.")
    in_candidates = sum(1 for row, r in zip(dev, ours, strict=True)
                        if row.topic != OUT_OF_SCOPE and row.topic in {c.topic for c in r.candidates})
    in_scope_total = sum(1 for row in dev if row.topic != OUT_OF_SCOPE)
    print(f"Gold topic among the 3 candidates: {pct(in_candidates / in_scope_total)} of in-scope queries.")
    lid_hits = sum(1 for row, res in zip(dev, ours, strict=True) if res.language == row.language)
    print(f"\nLanguage detected correctly on dev (no preferred language given): {pct(lid_hits / len(dev))}")
    if report.warnings:
        print("\nTraining warnings: " + "; ".join(report.warnings))
    if "--errors" in sys.argv:
        for row, res in zip(dev, ours, strict=True):
            if res.topic != row.topic or res.language != row.language:
                print(f"- [{row.bot}/{row.language}->{res.language}] {row.text!r}: gold {row.topic}, got "
                      f"{res.topic} ({res.confidence:.2f}) cands {[(c.topic, c.confidence) for c in res.candidates]}"
                      f" other={res.other_bot}")
    return 0


def pct(value: float | None) -> str:
    """Percentage with one decimal, or a dash."""
    return "-" if value is None else f"{100 * value:.1f}%"


if __name__ == "__main__":
    sys.exit(main())
