"""The sentence-encoder protocol every backend implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, runtime_checkable

import numpy as np

Role = Literal["query", "passage"]


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors of size ``dim``.

    ``role`` tells asymmetric models (e5) whether a text is a query or a passage;
    symmetric models ignore it. ``name`` identifies the model (and is part of
    every cache key and of the trained artifact's metadata).
    """

    name: str
    dim: int

    def encode(self, texts: Sequence[str], role: Role) -> np.ndarray:
        """Return an array of shape ``(len(texts), dim)``, dtype float32, rows L2-normalised."""
        ...


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Row-wise L2 normalisation as float32 (zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
