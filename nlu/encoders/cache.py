"""On-disk embedding cache, so a restart or a retrain does not re-embed known texts.

Vectors are stored in one SQLite file per cache directory, keyed by
``sha256(model name, role, text)``. Only texts the caller chooses go in (the
pipeline caches training examples, never users' messages).
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nlu.encoders.base import Encoder, Role

CACHE_FILE_NAME = "embeddings.sqlite3"


def cache_key(model_name: str, role: str, text: str) -> str:
    """The cache key of one text embedded by one model in one role."""
    return hashlib.sha256(f"{model_name}\x1f{role}\x1f{text}".encode()).hexdigest()


class EmbeddingCache:
    """A persistent ``key -> float32 vector`` store (SQLite, safe across threads)."""

    def __init__(self, cache_dir: Path) -> None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        self.path = cache_dir / CACHE_FILE_NAME
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, dim INTEGER, data BLOB)")
        self._db.commit()

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors found for ``keys`` (missing keys are absent from the result)."""
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT key, data FROM vectors WHERE key IN ({marks})", chunk)
                for key, data in rows:
                    found[key] = np.frombuffer(data, dtype=np.float32)
        return found

    def put_many(self, items: Sequence[tuple[str, np.ndarray]]) -> None:
        """Store vectors (overwriting existing keys)."""
        with self._lock:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors (key, dim, data) VALUES (?, ?, ?)",
                [(key, int(vec.shape[0]), np.asarray(vec, dtype=np.float32).tobytes()) for key, vec in items],
            )
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()


class CachedEncoder:
    """An :class:`Encoder` that looks texts up in an :class:`EmbeddingCache` first.

    ``hits`` / ``misses`` count texts served from the cache / sent to the model.
    """

    def __init__(self, encoder: Encoder, cache: EmbeddingCache, batch_size: int = 64) -> None:
        self.encoder = encoder
        self.cache = cache
        self.name = encoder.name
        self.dim = encoder.dim
        self.batch_size = batch_size
        self.hits = 0
        self.misses = 0

    def encode(self, texts: Sequence[str], role: Role) -> np.ndarray:
        """Embed ``texts``, computing only the ones not cached yet, and cache them."""
        keys = [cache_key(self.name, role, text) for text in texts]
        found = self.cache.get_many(sorted(set(keys)))
        missing = sorted({text for text, key in zip(texts, keys, strict=True) if key not in found})
        self.hits += len(texts) - sum(1 for key in keys if key not in found)
        self.misses += len(missing)
        for start in range(0, len(missing), self.batch_size):
            batch = missing[start : start + self.batch_size]
            vectors = self.encoder.encode(batch, role)
            new = [(cache_key(self.name, role, text), vec) for text, vec in zip(batch, vectors, strict=True)]
            self.cache.put_many(new)
            found.update(new)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, key in enumerate(keys):
            out[row] = found[key]
        return out
