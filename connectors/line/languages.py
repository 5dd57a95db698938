"""LINE's language tags (from a user's profile) mapped to the languages Yorisoi speaks.

The tags each language answers to are its :attr:`languages.LanguageSpec.line_locales`.
"""

from __future__ import annotations

from collections.abc import Iterable

from languages import line_language


def map_line_language(tag: str | None, supported: Iterable[str], default: str) -> str:
    """The supported language for a LINE language tag (``"zh-TW"`` → ``"zh-Hant"``, ``"pt-BR"`` → ``"pt"``).

    Unknown or missing tags give ``default``. ``ja-x-easy`` is never chosen: it is a choice the user makes.
    """
    return line_language(tag, supported, default)
