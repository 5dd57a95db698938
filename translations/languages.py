"""Language codes, their own names, and fallbacks: kept for existing imports; the registry is :mod:`languages`."""

from __future__ import annotations

from languages import base_language, endonyms, fallback_chain

#: Each language's name written in that language (shown on language buttons), in canonical order.
ENDONYMS: dict[str, str] = endonyms()

__all__ = ["ENDONYMS", "base_language", "fallback_chain"]
