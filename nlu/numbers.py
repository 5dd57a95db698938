"""Numbers for matching: kanji numerals, and a text form with offsets kept.

:class:`MappedText` is a rewritten text (NFKC per character, lower case, kanji
numbers as ASCII digits) that remembers, for every character, where it came
from in the original message, so entity spans can be reported on the original.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

_KANJI_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
                 "壱": 1, "弐": 2, "参": 3, "両": 2}
_KANJI_UNITS = {"十": 10, "百": 100, "千": 1000}
_KANJI_LARGE = {"万": 10_000, "億": 100_000_000}
_KANJI_CHARS = "".join(_KANJI_DIGITS) + "".join(_KANJI_UNITS) + "".join(_KANJI_LARGE)
KANJI_NUMBER = re.compile(f"[{_KANJI_CHARS}]+")
# A single kanji numeral is only a number before a counter (一緒 is not "1緒").
_COUNTERS = "番号號冊人日月時分歳才枚件回つ円年週度階個本"


def kanji_to_int(text: str) -> int | None:
    """Value of a kanji numeral ("百二十三" -> 123, "二〇二六" -> 2026, "三万" -> 30000)."""
    if not text or any(ch not in _KANJI_CHARS for ch in text):
        return None
    if all(ch in _KANJI_DIGITS for ch in text):  # positional: 二〇二六
        return int("".join(str(_KANJI_DIGITS[ch]) for ch in text))
    total, section, digit = 0, 0, 0
    for ch in text:
        if ch in _KANJI_DIGITS:
            digit = digit * 10 + _KANJI_DIGITS[ch]
        elif ch in _KANJI_UNITS:
            section += (digit or 1) * _KANJI_UNITS[ch]
            digit = 0
        else:
            total += (section + digit or 1) * _KANJI_LARGE[ch]
            section, digit = 0, 0
    return total + section + digit


@dataclass(frozen=True)
class MappedText:
    """A rewritten text plus, per character, the [start, end) span in the original."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @classmethod
    def from_original(cls, original: str) -> MappedText:
        """NFKC each character (full-width -> half-width) and lower-case, keeping offsets."""
        chars: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        for index, ch in enumerate(original):
            folded = unicodedata.normalize("NFKC", ch).lower()
            for out in folded:
                chars.append(out)
                starts.append(index)
                ends.append(index + 1)
        return cls("".join(chars), tuple(starts), tuple(ends))

    def rewrite(self, pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str | None]) -> MappedText:
        """Replace matches of ``pattern`` (``replace`` returns None to keep a match as is)."""
        chars: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        position = 0
        for match in pattern.finditer(self.text):
            new = replace(match)
            if new is None:
                continue
            chars.append(self.text[position : match.start()])
            starts.extend(self.starts[position : match.start()])
            ends.extend(self.ends[position : match.start()])
            span_start, span_end = self.starts[match.start()], self.ends[match.end() - 1]
            chars.append(new)
            starts.extend([span_start] * len(new))
            ends.extend([span_end] * len(new))
            position = match.end()
        chars.append(self.text[position:])
        starts.extend(self.starts[position:])
        ends.extend(self.ends[position:])
        return MappedText("".join(chars), tuple(starts), tuple(ends))

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that produced ``text[start:end]``."""
        return self.starts[start], self.ends[end - 1]


def with_kanji_numbers_as_digits(mapped: MappedText) -> MappedText:
    """Rewrite kanji numerals as digits (a lone numeral only before a counter such as 番)."""

    def replace(match: re.Match[str]) -> str | None:
        run = match.group(0)
        following = mapped.text[match.end() : match.end() + 1]
        if len(run) == 1 and following not in _COUNTERS:
            return None
        if run in {"一一", "万", "億"}:
            return None
        value = kanji_to_int(run)
        return None if value is None else str(value)

    return mapped.rewrite(KANJI_NUMBER, replace)
