"""Linear classification heads stored as plain arrays (no pickles in the artifact).

* :class:`LinearHead` - logistic regression over sentence embeddings, or a
  linear SVM over TF-IDF features (its margins turned into log-probabilities
  with a fixed scale). Saved as ``W`` / ``b`` arrays.
* :class:`CharTfidf` - the character n-gram TF-IDF vectoriser (vocabulary and
  idf saved as JSON / .npy), on :func:`nlu.normalize.fold_japanese` text: it
  catches keyword-only queries such as "住民票" that embeddings blur.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from nlu.normalize import fold_japanese

SVM_MARGIN_SCALE = 5.0


def log_softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax."""
    return np.exp(log_softmax(scores))


class LinearHead:
    """``scores = X @ W.T + b`` over ``classes``; ``log_proba`` gives log-probabilities."""

    def __init__(self, classes: Sequence[str], weights: np.ndarray, bias: np.ndarray, scale: float = 1.0) -> None:
        self.classes = list(classes)
        self.weights = np.asarray(weights, dtype=np.float32)
        self.bias = np.asarray(bias, dtype=np.float32)
        self.scale = scale
        self._weights_t = np.ascontiguousarray(self.weights.T)  # (features, classes): fast sparse @ dense

    @classmethod
    def fit_logistic(cls, features: np.ndarray, labels: Sequence[str], c: float = 30.0) -> LinearHead:
        """Multinomial logistic regression (lbfgs)."""
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=c, max_iter=400)
        model.fit(features, list(labels))
        return cls([str(x) for x in model.classes_], model.coef_, model.intercept_)

    @classmethod
    def fit_svm(cls, features: Any, labels: Sequence[str], c: float = 0.5) -> LinearHead:
        """One-vs-rest linear SVM; margins are scaled by :data:`SVM_MARGIN_SCALE`."""
        from sklearn.svm import LinearSVC

        model = LinearSVC(C=c)
        model.fit(features, list(labels))
        weights, bias = model.coef_, model.intercept_
        if len(model.classes_) == 2:  # binary: sklearn keeps one row
            weights = np.vstack([-weights[0], weights[0]])
            bias = np.array([-bias[0], bias[0]])
        return cls([str(x) for x in model.classes_], weights, bias, scale=SVM_MARGIN_SCALE)

    def log_proba(self, features: Any) -> np.ndarray:
        """Log-probabilities, shape ``(n, len(classes))``."""
        scores = features @ self._weights_t
        scores = np.asarray(scores, dtype=np.float32) + self.bias
        return log_softmax(self.scale * scores)

    def aligned(self, classes: Sequence[str], floor: float = -30.0) -> LinearHead:
        """The same head with columns in ``classes`` order (missing classes get a very low score)."""
        index = {name: i for i, name in enumerate(self.classes)}
        weights = np.zeros((len(classes), self.weights.shape[1]), dtype=np.float32)
        bias = np.full(len(classes), floor, dtype=np.float32)
        for row, name in enumerate(classes):
            if name in index:
                weights[row] = self.weights[index[name]]
                bias[row] = self.bias[index[name]]
        return LinearHead(classes, weights, bias, self.scale)

    def save(self, folder: Path, name: str) -> None:
        """Write ``<name>.npz`` (weights, bias, scale, classes)."""
        np.savez(folder / f"{name}.npz", weights=self.weights, bias=self.bias, scale=np.float32(self.scale),
                 classes=np.array(self.classes, dtype=object).astype(str))

    @classmethod
    def load(cls, folder: Path, name: str) -> LinearHead:
        """Read what :meth:`save` wrote."""
        with np.load(folder / f"{name}.npz", allow_pickle=False) as data:
            return cls([str(x) for x in data["classes"]], data["weights"], data["bias"], float(data["scale"]))


class CharTfidf:
    """Character 1-3-gram TF-IDF (``char_wb``, sublinear tf) over folded text."""

    PARAMS: ClassVar[dict[str, Any]] = {"analyzer": "char_wb", "ngram_range": (1, 3), "sublinear_tf": True, "min_df": 1,
                              "dtype": np.float32}

    def __init__(self, vectorizer: Any) -> None:
        self.vectorizer = vectorizer
        self._analyzer = vectorizer.build_analyzer()
        self._vocabulary: dict[str, int] = dict(vectorizer.vocabulary_)
        self._idf = np.asarray(vectorizer.idf_, dtype=np.float32)

    @classmethod
    def fit(cls, texts: Sequence[str]) -> CharTfidf:
        """Learn the vocabulary and idf from training texts."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(**cls.PARAMS)
        vectorizer.fit([fold_japanese(text) for text in texts])
        return cls(vectorizer)

    def transform(self, texts: Sequence[str]) -> Any:
        """Sparse TF-IDF rows (L2-normalised); same result as sklearn's transform, less overhead."""
        from scipy.sparse import csr_matrix

        if len(texts) > 32:
            return self.vectorizer.transform([fold_japanese(text) for text in texts])

        indptr, indices, values = [0], [], []
        for text in texts:
            counts: dict[int, int] = {}
            for gram in self._analyzer(fold_japanese(text)):
                column = self._vocabulary.get(gram)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            columns = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            weights = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts))))
            weights = weights * self._idf[columns]
            norm = float(np.linalg.norm(weights))
            indices.extend(columns.tolist())
            values.extend((weights / norm if norm > 0 else weights).tolist())
            indptr.append(len(indices))
        return csr_matrix((np.asarray(values, dtype=np.float32), np.asarray(indices, dtype=np.int64),
                           np.asarray(indptr, dtype=np.int64)), shape=(len(texts), len(self._idf)))

    def save(self, folder: Path) -> None:
        """Write ``tfidf_vocabulary.json`` and ``tfidf_idf.npy``."""
        vocabulary = {term: int(index) for term, index in self.vectorizer.vocabulary_.items()}
        (folder / "tfidf_vocabulary.json").write_text(json.dumps(vocabulary, ensure_ascii=False), encoding="utf-8")
        np.save(folder / "tfidf_idf.npy", self.vectorizer.idf_.astype(np.float32))

    @classmethod
    def load(cls, folder: Path) -> CharTfidf:
        """Rebuild the vectoriser from what :meth:`save` wrote."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(**cls.PARAMS)
        vectorizer.vocabulary_ = json.loads((folder / "tfidf_vocabulary.json").read_text(encoding="utf-8"))
        vectorizer.idf_ = np.load(folder / "tfidf_idf.npy")
        return cls(vectorizer)
