"""Hybrid retrieval over each bot's KB, for the moments the NLU is unsure.

The indexes are built in a background thread at start-up (cached on disk, so only
the first start embeds); until a bot's index is ready, searching it returns nothing
and the engine falls back to its menu, so a cold start never blocks a resident.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class KbSearch:
    """Per-bot :class:`knowledge.retrieval.HybridRetriever` built off the request path."""

    def __init__(self, bots: Iterable[str], cache_dir: Path) -> None:
        self._bots = tuple(bots)
        self._cache_dir = cache_dir
        self._retrievers: dict[str, Any] = {}
        self._ready = threading.Event()

    def start(self) -> None:
        """Build every bot's index in a daemon thread."""
        threading.Thread(target=self._build_all, name="kb-index", daemon=True).start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every index is built (tests, CLI); True when ready."""
        return self._ready.wait(timeout)

    def search(self, bot: str, text: str, k: int = 3) -> list[tuple[str, float]]:
        """Best topic ids for ``text`` in ``bot``'s KB, or [] while the index is being built."""
        retriever = self._retrievers.get(bot)
        return retriever.search(text, k=k) if retriever is not None and text.strip() else []

    def _build_all(self) -> None:
        from knowledge.ranking import build_kb_retriever, default_encoder

        encoder = default_encoder()
        for bot in self._bots:
            try:
                self._retrievers[bot] = build_kb_retriever(bot, encoder, self._cache_dir / "kb" / bot)
            except Exception:  # a broken index must not take the bot down: it answers without it
                log.exception("building the KB index of %s failed", bot)
        self._ready.set()
