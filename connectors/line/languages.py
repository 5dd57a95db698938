"""LINE's language tags (from a user's profile) mapped to the languages Yorisoi speaks."""

from __future__ import annotations

from collections.abc import Iterable

#: Chinese tags that mean traditional characters (Taiwan, Hong Kong, Macau).
_TRADITIONAL = {"zh-hant", "zh-tw", "zh-hk", "zh-mo"}
#: Old or alternative primary subtags.
_ALIASES = {"in": "id", "fil": "tl", "nb": "no", "iw": "he"}


def map_line_language(tag: str | None, supported: Iterable[str], default: str) -> str:
    """The supported language for a LINE language tag (``"zh-TW"`` → ``"zh-Hant"``, ``"pt-BR"`` → ``"pt"``).

    Unknown or missing tags give ``default``. ``ja-x-easy`` is never chosen: it is a choice the user makes.
    """
    if not tag:
        return default
    by_lower = {code.lower(): code for code in supported}
    lowered = tag.strip().replace("_", "-").lower()
    if lowered in by_lower and lowered != "ja-x-easy":
        return by_lower[lowered]
    parts = lowered.split("-")
    primary = _ALIASES.get(parts[0], parts[0])
    if primary == "zh":
        script = "zh-hant" if lowered in _TRADITIONAL or "hant" in parts[1:] or any(
            f"zh-{part}" in _TRADITIONAL for part in parts[1:]) else "zh-hans"
        return by_lower.get(script, default)
    return by_lower.get(primary, default)
