"""Topic classification for one topic space (one bot, or all bots for routing).

Model: two linear heads fused in log space and temperature-scaled,

    log p = softmax( (w * log p_emb + (1 - w) * log p_tfidf) / T )

* ``p_emb``: logistic regression over multilingual sentence embeddings (one
  model for all languages);
* ``p_tfidf``: linear SVM over character n-gram TF-IDF of the folded text
  (keyword-only Japanese queries, typos, romanised words).

``out_of_scope`` is a class of its own (trained on the out_of_scope examples)
*and* a threshold: a message whose best in-scope topic is below ``threshold``
is out of scope. ``w``, ``T`` and ``threshold`` are calibrated on a stratified
validation split of the training data (never on evaluation data), then the
heads are refitted on all the data.

Encoder skip: when the TF-IDF head alone puts an in-scope topic first with an SVM
*margin* (its score minus the runner-up's, raw SVM units) >= ``skip_margin``, the
parse path may return without running the sentence encoder. ``skip_margin`` is the
smallest grid value at which, on the same validation split, the lexical top-1 is at
least as accurate as the full model's decision (OOS threshold included) on the
examples that pass it (at least ``SKIP_MIN_SUPPORT`` of them): skipping there is
expected to cost no accuracy. (An earlier rule asked the two to agree on 99.5% of
those examples; it skipped far less for the same accuracy on held-out queries.)
(The margin separates better than the softmax probability, which saturates.)
``SKIP_DISABLED`` means "never skip": the default, so artifacts trained before this
existed keep running the encoder on every message. The lexical probabilities shown
for a skipped message use ``lexical_temperature`` (NLL-fitted on the validation split).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nlu.heads import CharTfidf, LinearHead, log_softmax
from nlu.types import OUT_OF_SCOPE

EMB_WEIGHTS = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
TEMPERATURES = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.5, 2.0, 2.5, 3.0)
#: Share of in-scope validation examples the threshold may reject. Validation
#: examples are paraphrases of training ones, so real traffic scores lower: keep it small.
TARGET_FALSE_REJECTION = 0.02
#: When the validation split has out_of_scope examples, the threshold may rise above the
#: quantile rule to maximise (in-scope accuracy + OOS recall) / 2, up to this false rejection.
MAX_FALSE_REJECTION = 0.03
THRESHOLD_BOUNDS = (0.05, 0.9)
VALIDATION_SHARE = 0.2
#: Encoder skip (see the module docstring).
SKIP_MIN_SUPPORT = 30
SKIP_DISABLED = 1000.0
SKIP_GRID = tuple(round(0.2 + 0.05 * i, 2) for i in range(57))  # SVM margin 0.2 .. 3.0
LEXICAL_TEMPERATURES = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0)


@dataclass(frozen=True)
class Calibration:
    """Fusion weight, temperature and OOS threshold, with validation metrics."""

    emb_weight: float = 0.7
    temperature: float = 1.0
    threshold: float = 0.2
    validation_accuracy: float = 0.0
    validation_false_rejection: float = 0.0
    validation_oos_recall: float = 0.0
    validation_size: int = 0
    lexical_temperature: float = 1.0
    skip_margin: float = SKIP_DISABLED
    validation_skip_rate: float = 0.0
    validation_skip_agreement: float = 0.0


@dataclass(frozen=True)
class Prediction:
    """Probabilities over ``classes`` for one message."""

    classes: tuple[str, ...]
    probabilities: np.ndarray

    def ranked(self) -> list[tuple[str, float]]:
        """(class, probability) pairs, best first."""
        order = np.argsort(-self.probabilities)
        return [(self.classes[i], float(self.probabilities[i])) for i in order]


def stratified_split(labels: Sequence[str], share: float, seed: int = 13) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, validation); classes with fewer than 3 examples stay in train."""
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        by_label.setdefault(label, []).append(index)
    train: list[int] = []
    validation: list[int] = []
    for indices in by_label.values():
        shuffled = list(rng.permutation(indices))
        take = round(len(shuffled) * share) if len(shuffled) >= 3 else 0
        validation.extend(shuffled[:take])
        train.extend(shuffled[take:])
    return np.array(sorted(train), dtype=int), np.array(sorted(validation), dtype=int)


class TopicClassifier:
    """Embedding LR + TF-IDF SVM, fused and calibrated; see the module docstring."""

    def __init__(self, tfidf: CharTfidf, emb_head: LinearHead, tfidf_head: LinearHead,
                 calibration: Calibration) -> None:
        self.tfidf = tfidf
        self.classes = tuple(emb_head.classes)
        self.emb_head = emb_head
        self.tfidf_head = tfidf_head.aligned(self.classes)
        self.calibration = calibration

    # ---------------------------------------------------------------- training
    @classmethod
    def _fit_heads(cls, tfidf: CharTfidf, features: Any, labels: Sequence[str], embeddings: np.ndarray,
                   calibration: Calibration) -> TopicClassifier:
        emb_head = LinearHead.fit_logistic(embeddings, labels)
        tfidf_head = LinearHead.fit_svm(features, labels)
        return cls(tfidf, emb_head, tfidf_head, calibration)

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[str], embeddings: np.ndarray,
              calibrate: bool = True, tfidf: CharTfidf | None = None, features: Any = None) -> TopicClassifier:
        """Calibrate on a validation split (if ``calibrate``), then fit on everything.

        ``tfidf`` / ``features``: a vectoriser shared between classifiers and the
        rows of ``texts`` it produced (fitted here when not given).
        """
        if tfidf is None:
            tfidf = CharTfidf.fit(texts)
        if features is None:
            features = tfidf.transform(texts)
        calibration = Calibration()
        if calibrate and len(set(labels)) > 1:
            train_idx, val_idx = stratified_split(labels, VALIDATION_SHARE)
            if len(val_idx):
                provisional = cls._fit_heads(tfidf, features[train_idx], [labels[i] for i in train_idx],
                                             embeddings[train_idx], calibration)
                calibration = provisional.calibrate(features[val_idx], [labels[i] for i in val_idx],
                                                    embeddings[val_idx])
        return cls._fit_heads(tfidf, features, labels, embeddings, calibration)

    def _head_log_probs(self, features: Any, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.emb_head.log_proba(embeddings), self.tfidf_head.log_proba(features)

    def calibrate(self, features: Any, labels: Sequence[str], embeddings: np.ndarray) -> Calibration:
        """Choose fusion weight, temperature and OOS threshold on held-out examples (TF-IDF rows given)."""
        emb_lp, tf_lp = self._head_log_probs(features, embeddings)
        gold = np.array([self.classes.index(label) if label in self.classes else -1 for label in labels])
        best_weight, best_accuracy = 1.0, -1.0
        for weight in EMB_WEIGHTS:
            accuracy = float(np.mean((weight * emb_lp + (1 - weight) * tf_lp).argmax(axis=1) == gold))
            if accuracy >= best_accuracy:
                best_weight, best_accuracy = weight, accuracy
        fused = best_weight * emb_lp + (1 - best_weight) * tf_lp
        best_temperature = _fit_temperature(fused, gold, TEMPERATURES)
        probabilities = np.exp(log_softmax(fused / best_temperature))
        threshold, false_rejection, oos_recall = self._threshold(probabilities, gold)
        lexical_temperature, skip_margin, skip_rate, skip_agreement = self._skip_rule(
            probabilities, tf_lp, gold, threshold)
        return Calibration(best_weight, best_temperature, threshold, best_accuracy, false_rejection, oos_recall,
                           len(labels), lexical_temperature, skip_margin, skip_rate, skip_agreement)

    def _skip_rule(self, probabilities: np.ndarray, tf_lp: np.ndarray, gold: np.ndarray,
                   threshold: float) -> tuple[float, float, float, float]:
        """(lexical temperature, skip margin, validation skip rate, agreement among skipped)."""
        oos = self.classes.index(OUT_OF_SCOPE) if OUT_OF_SCOPE in self.classes else -1
        lexical_temperature = _fit_temperature(tf_lp, gold, LEXICAL_TEMPERATURES)
        lex_top, margin = tf_lp.argmax(axis=1), self._margin(tf_lp)
        fused_top = probabilities.argmax(axis=1)
        in_scope_probs = probabilities.copy()
        if oos >= 0:
            in_scope_probs[:, oos] = -1.0
        rejected = (fused_top == oos) | (in_scope_probs.max(axis=1) < threshold)
        fused_decision = np.where(rejected, oos, in_scope_probs.argmax(axis=1))
        agree = (lex_top == fused_decision) & (lex_top == gold)
        lexical_right, fused_right = lex_top == gold, fused_decision == gold
        eligible = lex_top != oos
        for tau in SKIP_GRID:
            passing = eligible & (margin >= tau)
            if passing.sum() >= SKIP_MIN_SUPPORT and lexical_right[passing].mean() >= fused_right[passing].mean():
                return lexical_temperature, float(tau), float(passing.mean()), float(agree[passing].mean())
        return lexical_temperature, SKIP_DISABLED, 0.0, 0.0

    def _threshold(self, probabilities: np.ndarray, gold: np.ndarray) -> tuple[float, float, float]:
        oos = self.classes.index(OUT_OF_SCOPE) if OUT_OF_SCOPE in self.classes else -1
        in_scope_probs = probabilities.copy()
        if oos >= 0:
            in_scope_probs[:, oos] = -1.0
        top = in_scope_probs.max(axis=1)
        says_oos = probabilities.argmax(axis=1) == oos
        is_oos = gold == oos
        accepted_in_scope = top[~is_oos & ~says_oos]
        low, high = THRESHOLD_BOUNDS
        quantile = np.quantile(accepted_in_scope, TARGET_FALSE_REJECTION) if len(accepted_in_scope) else low
        threshold = min(max(float(quantile), low), high)
        if is_oos.any() and (~is_oos).any():
            threshold = max(threshold, self._balanced_threshold(top, says_oos, is_oos, probabilities, gold))
        rejected = says_oos | (top < threshold)
        false_rejection = float(rejected[~is_oos].mean()) if (~is_oos).any() else 0.0
        oos_recall = float(rejected[is_oos].mean()) if is_oos.any() else 0.0
        return threshold, false_rejection, oos_recall

    @staticmethod
    def _balanced_threshold(top: np.ndarray, says_oos: np.ndarray, is_oos: np.ndarray, probabilities: np.ndarray,
                            gold: np.ndarray) -> float:
        """Threshold maximising (in-scope accuracy + OOS recall) / 2 within MAX_FALSE_REJECTION."""
        low, high = THRESHOLD_BOUNDS
        correct = probabilities.argmax(axis=1) == gold
        best, best_score = low, -1.0
        for threshold in np.linspace(low, high, 86):
            rejected = says_oos | (top < threshold)
            if rejected[~is_oos].mean() > MAX_FALSE_REJECTION:
                break
            score = (correct[~is_oos] & ~rejected[~is_oos]).mean() + rejected[is_oos].mean()
            if score > best_score + 1e-9:
                best, best_score = float(threshold), score
        return best

    # --------------------------------------------------------------- inference
    def predict(self, texts: Sequence[str], embeddings: np.ndarray, features: Any = None) -> list[Prediction]:
        """Calibrated probabilities for each text (``features``: their TF-IDF rows, if already computed)."""
        if features is None:
            features = self.tfidf.transform(texts)
        emb_lp, tf_lp = self._head_log_probs(features, embeddings)
        weight, temperature = self.calibration.emb_weight, self.calibration.temperature
        probabilities = np.exp(log_softmax((weight * emb_lp + (1 - weight) * tf_lp) / temperature))
        return [Prediction(self.classes, row) for row in probabilities]

    def predict_lexical(self, features: Any) -> tuple[list[Prediction], np.ndarray]:
        """TF-IDF head alone, for the encoder skip: (probabilities at ``lexical_temperature``, SVM margins)."""
        tf_lp = self.tfidf_head.log_proba(features)
        probabilities = np.exp(log_softmax(tf_lp / self.calibration.lexical_temperature))
        return [Prediction(self.classes, row) for row in probabilities], self._margin(tf_lp)

    def _margin(self, tf_lp: np.ndarray) -> np.ndarray:
        """Top-1 minus top-2 raw SVM score (log-probability gap divided by the head's scale)."""
        if tf_lp.shape[1] < 2:
            return np.full(len(tf_lp), np.inf)
        top2 = np.sort(tf_lp, axis=1)[:, -2:]
        return (top2[:, 1] - top2[:, 0]) / self.tfidf_head.scale

    # ------------------------------------------------------------- persistence
    def save(self, folder: Path) -> None:
        """Write the heads, the vectoriser and the calibration into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        self.tfidf.save(folder)
        self.emb_head.save(folder, "embedding_head")
        self.tfidf_head.save(folder, "tfidf_head")
        (folder / "calibration.json").write_text(json.dumps(asdict(self.calibration), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> TopicClassifier:
        """Read what :meth:`save` wrote."""
        calibration_data: dict[str, Any] = json.loads((folder / "calibration.json").read_text(encoding="utf-8"))
        return cls(CharTfidf.load(folder), LinearHead.load(folder, "embedding_head"),
                   LinearHead.load(folder, "tfidf_head"), Calibration(**calibration_data))


def _fit_temperature(scores: np.ndarray, gold: np.ndarray, candidates: Sequence[float]) -> float:
    """The temperature (of ``candidates``) with the lowest negative log-likelihood on labelled rows."""
    known = gold >= 0
    best_temperature, best_nll = 1.0, np.inf
    for temperature in candidates:
        log_p = log_softmax(scores / temperature)
        nll = -float(np.mean(log_p[known, gold[known]])) if known.any() else 0.0
        if nll < best_nll:
            best_temperature, best_nll = temperature, nll
    return best_temperature
