"""Helpers for benchmarks and offline evaluation (not used when serving).

Reads the topics contract and the knowledge base's ``questions`` directly from
their YAML files (the NLU never imports the knowledge package), loads labelled
evaluation files, and provides the two baselines the benchmarks compare with.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from nlu.normalize import fold_japanese, normalize
from nlu.training_data import load_bot_training_data
from nlu.types import OUT_OF_SCOPE, BotTrainingData

LOG = logging.getLogger(__name__)
#: Topic groups each bot answers (mirrors config.yml's ``bots:`` section).
DEFAULT_BOT_GROUPS: dict[str, tuple[str, ...]] = {
    "city_hall": ("city_hall", "smartphone_help"),
    "residents": ("residents",),
    "library": ("library",),
}


def read_topic_spaces(
    spec_path: Path, bot_groups: Mapping[str, Sequence[str]] = DEFAULT_BOT_GROUPS
) -> dict[str, list[str]]:
    """Each bot's topic ids from ``topics.yml`` (system topics first, out_of_scope excluded)."""
    spec: dict[str, Any] = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    system = [item["id"] for item in spec.get("system", []) if item["id"] != OUT_OF_SCOPE]
    return {
        bot: system + [item["id"] for group in groups for item in spec.get(group, [])]
        for bot, groups in bot_groups.items()
    }


def read_kb_questions(kb_dir: Path, bot: str) -> dict[str, list[str]]:
    """``questions`` of every ``<kb_dir>/<bot>/<topic>.yml``, all languages flattened."""
    questions: dict[str, list[str]] = {}
    folder = kb_dir / bot
    if not folder.is_dir():
        return questions
    for path in sorted(folder.glob("*.yml")):
        try:
            entry = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            LOG.warning("kb file %s skipped: %s", path, error)
            continue
        by_language = entry.get("questions") or {}
        if not isinstance(by_language, dict):
            continue
        topic = str(entry.get("id") or path.stem)
        for items in by_language.values():
            questions.setdefault(topic, []).extend(str(item) for item in items or [] if str(item).strip())
    return questions


def load_all_bots(
    data_dir: Path, kb_dir: Path, spec_path: Path, bot_groups: Mapping[str, Sequence[str]] = DEFAULT_BOT_GROUPS
) -> dict[str, BotTrainingData]:
    """Training data of every bot: nlu/data files + knowledge-base questions."""
    spaces = read_topic_spaces(spec_path, bot_groups)
    return {
        bot: load_bot_training_data(data_dir, bot, topics, read_kb_questions(kb_dir, bot))
        for bot, topics in spaces.items()
    }


@dataclass(frozen=True)
class LabelledQuery:
    """One evaluation query."""

    bot: str
    topic: str
    language: str
    text: str


def read_eval_jsonl(path: Path) -> list[LabelledQuery]:
    """Rows ``{"bot","id","lang","text"}`` of an evaluation file."""
    rows: list[LabelledQuery] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                record = json.loads(line)
                rows.append(LabelledQuery(record["bot"], record["id"], record["lang"], record["text"]))
    return rows


class TfidfLogRegBaseline:
    """Baseline: char 1-4-gram TF-IDF + logistic regression, OOS by class or threshold."""

    def __init__(self, threshold: float = 0.0) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, min_df=1)
        self.model = LogisticRegression(C=20.0, max_iter=300)
        self.threshold = threshold

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> TfidfLogRegBaseline:
        """Train on raw texts."""
        features = self.vectorizer.fit_transform([fold_japanese(text) for text in texts])
        self.model.fit(features, list(labels))
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities (columns follow ``classes``)."""
        return np.asarray(self.model.predict_proba(self.vectorizer.transform([fold_japanese(t) for t in texts])))

    @property
    def classes(self) -> list[str]:
        """Class labels."""
        return [str(label) for label in self.model.classes_]


class FastTextBaseline:
    """Baseline: fastText supervised (word + char n-grams), trained in a temp file."""

    def __init__(self, epochs: int = 50, threshold: float = 0.0) -> None:
        self.epochs = epochs
        self.threshold = threshold
        self.model: Any = None

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> FastTextBaseline:
        """Train a supervised fastText model (1 thread, fixed seed)."""
        import tempfile

        import fasttext

        with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as handle:
            for text, label in zip(texts, labels, strict=True):
                handle.write(f"__label__{label} {self._prep(text)}\n")
            path = handle.name
        self.model = fasttext.train_supervised(
            input=path, epoch=self.epochs, lr=0.5, wordNgrams=2, minn=1, maxn=4, dim=50, thread=1,
            verbose=0, seed=13,
        )
        Path(path).unlink(missing_ok=True)
        return self

    @staticmethod
    def _prep(text: str) -> str:
        # CJK has no spaces: separate characters so word n-grams see them.
        folded = fold_japanese(text)
        out = []
        for ch in folded:
            out.append(f" {ch} " if ord(ch) > 0x2E80 else ch)
        return normalize(" ".join("".join(out).split()))

    def predict(self, text: str) -> tuple[str, float]:
        """Best label and its probability."""
        labels, probs = self.model.f.predict(self._prep(text) + "\n", 1, 0.0, "strict")[0][::-1]
        return labels.replace("__label__", ""), float(probs)


@dataclass(frozen=True)
class Split:
    """Texts and labels of one split."""

    texts: list[str]
    labels: list[str]


def _open_intent_scores(gold: Sequence[str], predicted: Sequence[str], oos_label: str) -> dict[str, float]:
    in_scope = [(g, p) for g, p in zip(gold, predicted, strict=True) if g != oos_label]
    oos = [p for g, p in zip(gold, predicted, strict=True) if g == oos_label]
    scores = {"in_scope_accuracy": sum(g == p for g, p in in_scope) / max(len(in_scope), 1)}
    if oos:
        scores["oos_recall"] = sum(p == oos_label for p in oos) / len(oos)
    scores["false_oos"] = sum(p == oos_label for _, p in in_scope) / max(len(in_scope), 1)
    return scores


def _best_threshold(confidences: np.ndarray, predicted: Sequence[str], gold: Sequence[str], oos_label: str) -> float:
    """Threshold maximising (in-scope accuracy + OOS recall) / 2 on a validation split."""
    best, best_score = 0.0, -1.0
    for threshold in np.linspace(0.0, 0.95, 39):
        guesses = [oos_label if c < threshold else p for c, p in zip(confidences, predicted, strict=True)]
        scores = _open_intent_scores(gold, guesses, oos_label)
        value = (scores["in_scope_accuracy"] + scores.get("oos_recall", 0.0)) / 2
        if value > best_score:
            best, best_score = float(threshold), value
    return best


def compare_on_open_intent(train: Split, val: Split, test: Split, embed: Any, oos_label: str = OUT_OF_SCOPE,
                           fasttext_epochs: int = 25, embedding_only_row: bool = False) -> dict[str, dict[str, float]]:
    """Our classifier vs the two baselines: fit on ``train``, calibrate on ``val``, score ``test``.

    ``embed(texts) -> np.ndarray`` gives query embeddings (cached by the caller).
    ``embedding_only_row`` adds our classifier with the TF-IDF head switched off
    (what carries over to languages absent from the training data).
    """
    from nlu.classifier import TopicClassifier

    results: dict[str, dict[str, float]] = {}
    has_oos = oos_label in val.labels
    classifier = TopicClassifier.train(train.texts, train.labels, embed(train.texts), calibrate=False)
    calibration = classifier.calibrate(classifier.tfidf.transform(val.texts), val.labels, embed(val.texts))
    if not has_oos:
        calibration = dataclass_replace(calibration, threshold=0.0)
    variants = {"Yorisoi NLU (e5 + char TF-IDF, calibrated)": calibration}
    if embedding_only_row:
        variants["Yorisoi NLU, embedding head only"] = dataclass_replace(calibration, emb_weight=1.0)
    test_embeddings = embed(test.texts)
    for name, variant in variants.items():
        classifier.calibration = variant
        ours: list[str] = []
        for prediction in classifier.predict(test.texts, test_embeddings):
            ranked = [(c, p) for c, p in prediction.ranked() if c != oos_label]
            top = prediction.ranked()[0][0]
            ours.append(oos_label if top == oos_label or ranked[0][1] < variant.threshold else ranked[0][0])
        results[name] = _open_intent_scores(test.labels, ours, oos_label)

    tfidf = TfidfLogRegBaseline().fit(train.texts, train.labels)
    val_p, test_p = tfidf.predict_proba(val.texts), tfidf.predict_proba(test.texts)
    classes = tfidf.classes
    threshold = _best_threshold(val_p.max(1), [classes[i] for i in val_p.argmax(1)], val.labels, oos_label) \
        if has_oos else 0.0
    guesses = [oos_label if row.max() < threshold else classes[int(row.argmax())] for row in test_p]
    results["TF-IDF char n-gram + LR"] = _open_intent_scores(test.labels, guesses, oos_label)

    fast = FastTextBaseline(epochs=fasttext_epochs).fit(train.texts, train.labels)
    val_fast = [fast.predict(text) for text in val.texts]
    threshold = _best_threshold(np.array([p for _, p in val_fast]), [label for label, _ in val_fast], val.labels,
                                oos_label) if has_oos else 0.0
    guesses = [oos_label if p < threshold else label for label, p in (fast.predict(t) for t in test.texts)]
    results["fastText supervised"] = _open_intent_scores(test.labels, guesses, oos_label)
    return results
