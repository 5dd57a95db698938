"""Language-aware tokenization for BM25: SudachiPy for Japanese, words or character bigrams elsewhere.

The KB holds text in 13 languages and queries carry no reliable language tag, so
the tokenizer decides per run of characters:

* runs with kana or kanji go through SudachiPy (``sudachidict_core``); particles,
  auxiliaries, symbols and whitespace are dropped and each word is reduced to its
  normalized form (書類/書類, 払え -> 払う, ｺﾝﾋﾞﾆ -> コンビニ) so inflections match;
* Thai, Myanmar and Hangul runs become character bigrams (no word splitter for
  the first two; Korean glues particles to nouns);
* anything else is split into Unicode words (letters, marks, digits; NFKC, lower-cased).

The same function is applied to documents and queries, so a Chinese sentence
(kanji only) is tokenized the same way on both sides; optional kanji bigrams add
partial matches inside compounds. The choices were made on LocalgovFAQ (see
``bench/bench_kb_localgovfaq.py``).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any, Literal

SudachiMode = Literal["A", "B", "C"]
SudachiForm = Literal["surface", "normalized", "dictionary"]

_KANA = r"\u3040-\u30ff\u31f0-\u31ff"
_HAN = r"\u3005\u3006\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_JAPANESE_RUN = re.compile(f"([{_KANA}{_HAN}]+)")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3})")
_HAN_RUN = re.compile(f"[{_HAN}]{{2,}}")
# Runs indexed as character bigrams: Thai and Myanmar (no spaces between words, no analyser here) and
# Hangul (particles are glued to the noun: 주민표를 must still match 주민표), as Lucene's CJK bigrams do.
_BIGRAM_RUN = re.compile(r"([\u0e00-\u0e7f]+|[\u1000-\u109f\uaa60-\uaa7f]+|[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]+)")
# Sudachi's input limit is in bytes (~49 kB); chunks keep long answers far below it.
_CHUNK = 2000
# Part-of-speech heads that carry no topic: particles, auxiliaries, symbols, blanks.
_STOP_POS = frozenset({"助詞", "助動詞", "補助記号", "記号", "空白"})


@dataclass(frozen=True)
class TokenizerSettings:
    """How text is split into BM25 terms (part of the index cache key)."""

    #: Sudachi split mode: A (shortest units), B (middle) or C (named entities / long compounds).
    mode: SudachiMode = "C"
    #: Which form of a Japanese word becomes the term.
    form: SudachiForm = "normalized"
    #: Drop particles, auxiliaries, symbols and whitespace.
    drop_stopwords: bool = True
    #: Also emit the A-mode parts of a longer word (国民年金保険料 -> 国民, 年金, 保険, 料).
    split_compounds: bool = True
    #: Also emit bigrams of kanji runs (partial matches; helps Chinese text).
    han_bigrams: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Plain values, for cache keys and reports."""
        return asdict(self)


class Tokenizer:
    """Turns text into BM25 terms; safe to share between threads (Sudachi calls are serialised)."""

    def __init__(self, settings: TokenizerSettings | None = None) -> None:
        self.settings = settings or TokenizerSettings()
        self._sudachi: Any = None
        self._lock = threading.Lock()

    def __call__(self, text: str) -> list[str]:
        """Terms of ``text`` in order (duplicates kept: BM25 counts them)."""
        text = _THOUSANDS.sub("", unicodedata.normalize("NFKC", text).lower())  # 3,000円 = 3000円
        terms: list[str] = []
        for index, part in enumerate(_BIGRAM_RUN.split(text)):
            if not part:
                continue
            if index % 2:  # odd parts are the captured bigram runs
                terms.extend(char_bigrams(part))
            else:
                # Only kana/kanji runs go to Sudachi: it would turn "city hall" into シティーホール,
                # while the same words in an English text stay "city", "hall".
                for j, run in enumerate(_JAPANESE_RUN.split(part)):
                    terms.extend(self._japanese(run) if j % 2 else words(run))
        return terms

    def _japanese(self, text: str) -> list[str]:
        from sudachipy import SplitMode

        settings = self.settings
        terms: list[str] = []
        with self._lock:  # a Sudachi tokenizer keeps mutable state per call
            tokenizer = self._tokenizer()
            for start in range(0, len(text), _CHUNK):
                for morpheme in tokenizer.tokenize(text[start : start + _CHUNK]):
                    if settings.drop_stopwords and morpheme.part_of_speech()[0] in _STOP_POS:
                        continue
                    terms.append(_form(morpheme, settings.form))
                    if settings.split_compounds and settings.mode != "A":
                        parts = morpheme.split(SplitMode.A)
                        if len(parts) > 1:
                            terms.extend(_form(part, settings.form) for part in parts)
        if settings.han_bigrams:
            for run in _HAN_RUN.findall(text):
                terms.extend(char_bigrams(run))
        return terms

    def _tokenizer(self) -> Any:
        if self._sudachi is None:
            from sudachipy import Dictionary, SplitMode

            self._sudachi = Dictionary(dict="core").tokenizer(mode=getattr(SplitMode, self.settings.mode))
        return self._sudachi


def words(text: str) -> list[str]:
    """Maximal runs of letters, marks and digits (``\\w`` would cut Devanagari words at vowel signs)."""
    found: list[str] = []
    start = -1
    for i, char in enumerate(text):
        if unicodedata.category(char)[0] in "LMN":
            if start < 0:
                start = i
        elif start >= 0:
            found.append(text[start:i])
            start = -1
    if start >= 0:
        found.append(text[start:])
    return found


def char_bigrams(run: str) -> list[str]:
    """Overlapping character bigrams (a single character stays as it is)."""
    if len(run) < 2:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def _form(morpheme: Any, form: SudachiForm) -> str:
    if form == "normalized":
        return str(morpheme.normalized_form()).lower()
    if form == "dictionary":
        return str(morpheme.dictionary_form()).lower()
    return str(morpheme.surface())
