"""Any sentence-transformers model from a local path (or the local hub cache), offline."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from nlu.encoders.base import Role, l2_normalize


class SentenceTransformerEncoder:
    """Wraps ``sentence_transformers.SentenceTransformer`` on CPU.

    Models whose name contains "e5" get the ``"query: "`` / ``"passage: "``
    prefixes they were trained with; other models get the text unchanged.
    Nothing is downloaded (``local_files_only=True``).
    """

    def __init__(self, model: str, threads: int = 1, batch_size: int = 64) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(max(1, threads))
        self._model: Any = SentenceTransformer(model, device="cpu", local_files_only=True)
        self.name = f"sentence-transformers:{model}"
        self._source = model
        getter = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = getter()
        self.dim = int(dim) if dim else int(self._model.encode(["x"]).shape[1])
        self._uses_e5_prefixes = "e5" in model.lower()
        self._batch_size = batch_size
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], role: Role) -> np.ndarray:
        """Embed ``texts`` as L2-normalised float32 rows."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        items = [f"{role}: {text}" for text in texts] if self._uses_e5_prefixes else list(texts)
        with self._lock:
            vectors = self._model.encode(
                items, batch_size=self._batch_size, convert_to_numpy=True, show_progress_bar=False
            )
        return l2_normalize(vectors)
