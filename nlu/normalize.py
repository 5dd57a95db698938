"""Text normalisation for matching.

The transcript always keeps what the user wrote; these functions return a
*matching form* used by the classifier, the entity extractors and the caches.

* :func:`normalize` - NFKC (full-width ASCII and digits become half-width,
  half-width katakana become full-width), emoji / pictographs / LINE private-use
  characters removed, whitespace collapsed, lower case. This is what the
  sentence encoder sees.
* :func:`fold_japanese` - a coarser form for lexical matching: katakana folded
  to hiragana (ゴミ = ごみ), long-vowel marks unified and repeated ones collapsed,
  small kana made full size (ッ/っ = つ, ァ = あ) and iteration marks expanded.
"""

from __future__ import annotations

import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")
# Dash-like characters people type instead of the long-vowel mark after kana.
_LONG_VOWEL_LIKE = "ー－-‐‑‒–—―−~〜～ｰ"
_LONG_VOWEL_AFTER_KANA = re.compile(r"(?<=[\u3041-\u309f\u30a1-\u30ff])[" + re.escape(_LONG_VOWEL_LIKE) + r"]+")
_SMALL_KANA = str.maketrans(
    "ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶ",
    "あいうえおつやゆよわかけアイウエオツヤユヨワカケ",
)
# Unicode categories dropped from the matching form: other symbols (emoji,
# pictographs, dingbats), modifier symbols (skin tones), private use (LINE
# emoji), format characters (zero-width joiners) and unassigned code points.
_DROPPED_CATEGORIES = frozenset({"So", "Sk", "Co", "Cf", "Cn", "Cs"})
_VARIATION_SELECTORS = re.compile(r"[\ufe00-\ufe0f\U000e0100-\U000e01ef\u20e3]")
# Signs that carry meaning in queries and must survive although they are "So".
_KEPT_SYMBOLS = frozenset("〒℃№")


def strip_pictographs(text: str) -> str:
    """Remove emoji, pictographs, LINE private-use characters and joiners."""
    text = _VARIATION_SELECTORS.sub("", text)
    return "".join(
        ch if ch in _KEPT_SYMBOLS or unicodedata.category(ch) not in _DROPPED_CATEGORIES else " "
        for ch in text
    )


def collapse_whitespace(text: str) -> str:
    """Replace runs of whitespace (incl. the ideographic space) with one space and trim."""
    return _WHITESPACE.sub(" ", text).strip()


def normalize(text: str) -> str:
    """Return the matching form of ``text`` (NFKC, no emoji, single spaces, lower case).

    >>> normalize("ＡＢＣ　１２３🙂")
    'abc 123'
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    text = strip_pictographs(text)
    text = _LONG_VOWEL_AFTER_KANA.sub("ー", text)
    return collapse_whitespace(text).lower()


def katakana_to_hiragana(text: str) -> str:
    """Fold katakana (U+30A1..U+30F6) to the corresponding hiragana."""
    return "".join(chr(ord(ch) - 0x60) if "\u30a1" <= ch <= "\u30f6" else ch for ch in text)


def _expand_iteration_marks(text: str) -> str:
    out: list[str] = []
    for ch in text:
        if ch in "ゝヽ々" and out:
            out.append(out[-1])
        else:
            out.append(ch)
    return "".join(out)


def fold_japanese(text: str) -> str:
    """Coarse lexical form: :func:`normalize` + kana folding (see module docstring).

    >>> fold_japanese("ゴミの日") == fold_japanese("ごみの日")
    True
    """
    text = normalize(text)
    text = _expand_iteration_marks(text)
    text = katakana_to_hiragana(text).translate(_SMALL_KANA)
    return re.sub("ー+", "ー", text)


def contains_kana(text: str) -> bool:
    """True if ``text`` has any hiragana or katakana."""
    return any("\u3041" <= ch <= "\u30ff" or "\uff66" <= ch <= "\uff9d" for ch in text)
