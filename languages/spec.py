"""What Yorisoi knows about one language: :class:`LanguageSpec`, and the scripts it is written in.

Nothing here imports another Yorisoi package: this is the lowest layer, usable by all.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

#: Script names used by :class:`ScriptCues`, in the order language identification tests them.
SCRIPTS: tuple[str, ...] = ("kana", "han", "hangul", "thai", "myanmar", "devanagari", "latin")

#: Unicode code point ranges (inclusive) of each script. ``latin`` counts letters only.
SCRIPT_RANGES: Mapping[str, tuple[tuple[int, int], ...]] = MappingProxyType({
    "kana": ((0x3041, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9D)),  # hiragana, katakana, half-width katakana
    "han": ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0xF900, 0xFAFF)),  # unified, extension A, compatibility
    "hangul": ((0xAC00, 0xD7AF), (0x1100, 0x11FF), (0x3130, 0x318F)),  # syllables, jamo, compatibility jamo
    "thai": ((0x0E00, 0x0E7F),),
    "myanmar": ((0x1000, 0x109F), (0xAA60, 0xAA7F)),
    "devanagari": ((0x0900, 0x097F),),
    "latin": ((0x0000, 0x024F), (0x1E00, 0x1EFF)),  # up to Latin Extended-B, and Latin Extended Additional
})

# Sorted, non-overlapping ranges for a binary search: (start, end, script).
_RANGES = sorted((start, end, script) for script, ranges in SCRIPT_RANGES.items() for start, end in ranges)
_STARTS = [start for start, _end, _script in _RANGES]


def script_of(ch: str) -> str | None:
    """The name of the script ``ch`` belongs to (one of :data:`SCRIPTS`), or None (digits, punctuation ...)."""
    code = ord(ch)
    index = bisect_right(_STARTS, code) - 1
    if index < 0:
        return None
    _start, end, script = _RANGES[index]
    if code > end or (script == "latin" and not ch.isalpha()):
        return None
    return script


@dataclass(frozen=True)
class ScriptCues:
    """How text in a language looks, for language identification (``nlu.langid``)."""

    #: The scripts the language is written in (names from :data:`SCRIPTS`).
    scripts: tuple[str, ...]
    #: A script that alone identifies the language among Yorisoi's (kana → ja, Hangul → ko), if any.
    decisive: str | None = None
    #: Letters that, among Yorisoi's languages, only this one uses (Vietnamese ă đ ơ ư ...).
    letters: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class LanguageSpec:
    """One language Yorisoi can be configured for, and how each part of the platform treats it."""

    #: The BCP 47 code used everywhere in Yorisoi (``ja``, ``ja-x-easy``, ``zh-Hant`` ...).
    code: str
    #: The language's name written in that language (shown on language buttons).
    endonym: str
    #: Scripts and letters that identify the language in a message.
    script_cues: ScriptCues
    #: LINE language tags (from a user's profile) that mean this language (``zh-TW`` for ``zh-Hant``).
    line_locales: tuple[str, ...]
    #: True for easy Japanese (やさしい日本語): chosen by the user, never detected, Japanese to machines.
    easy_japanese: bool
    #: The language tokenizers, machine translation and readings work in (``ja`` for ``ja-x-easy``).
    base: str
    #: Whether words are separated by spaces (not in Japanese, Chinese, Thai, Burmese).
    spaces_between_words: bool
    #: Whether sentences are separated by a space (not in Japanese and Chinese).
    spaces_between_sentences: bool
    #: Argos Translate codes that serve this language, preferred first (``zt`` for ``zh-Hant``).
    argos_codes: tuple[str, ...]
    #: Languages to try, in order, when text in this one is missing (the language itself not included).
    fallbacks: tuple[str, ...]

    @property
    def language_subtag(self) -> str:
        """The primary language subtag (``zh`` for ``zh-Hant``, ``ja`` for ``ja-x-easy``), as lid.176 labels it."""
        return self.code.split("-")[0]

    @property
    def fallback_chain(self) -> tuple[str, ...]:
        """This language, then its :attr:`fallbacks`."""
        return (self.code, *self.fallbacks)
