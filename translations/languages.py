"""Language codes, their own names, and which language to fall back to when text is missing."""

from __future__ import annotations

#: Each language's name written in that language (shown on language buttons).
ENDONYMS: dict[str, str] = {
    "ja": "日本語",
    "ja-x-easy": "やさしい にほんご",
    "en": "English",
    "zh-Hans": "简体中文",
    "zh-Hant": "繁體中文",
    "ko": "한국어",
    "vi": "Tiếng Việt",
    "tl": "Tagalog",
    "ne": "नेपाली",
    "pt": "Português",
    "es": "Español",
    "id": "Bahasa Indonesia",
    "th": "ภาษาไทย",
    "my": "မြန်မာဘာသာ",
}


def fallback_chain(language: str) -> tuple[str, ...]:
    """Languages to try, in order, when text for ``language`` is missing.

    Easy Japanese falls back to Japanese (its readers read Japanese, slowly);
    every other language falls back to English, then Japanese.
    """
    if language == "ja-x-easy":
        return ("ja-x-easy", "ja", "en")
    if language == "ja":
        return ("ja", "en")
    return (language, "en", "ja")


def base_language(language: str) -> str:
    """``ja-x-easy`` -> ``ja``; other codes unchanged (for tokenizers, MT and readings)."""
    return "ja" if language == "ja-x-easy" else language
