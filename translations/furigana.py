"""Furigana: readings over the kanji of Japanese text, from SudachiPy.

Seniors at kiosks and beginners in Japanese read kanji slowly; the kiosk shows
ruby (HTML ``<ruby>``), and chat channels can show readings in parentheses.
Readings go over the kanji only, not over the okurigana (食べる → 食(た)べる).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_KANJI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\u3005\u3006\u30f6]")
_KATAKANA_TO_HIRAGANA = {code: code - 0x60 for code in range(ord("ァ"), ord("ヶ") + 1)}


@dataclass(frozen=True)
class Segment:
    """A run of text with its reading in hiragana (None when it needs none)."""

    text: str
    reading: str | None = None


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    from sudachipy import dictionary

    return dictionary.Dictionary().tokenizer()


def to_hiragana(katakana: str) -> str:
    """Katakana → hiragana (other characters unchanged)."""
    return katakana.translate(_KATAKANA_TO_HIRAGANA)


def segments(text: str) -> list[Segment]:
    """``text`` split into segments, kanji runs carrying their readings."""
    result: list[Segment] = []
    for morpheme in _tokenizer().tokenize(text):
        surface = morpheme.surface()
        if not _KANJI.search(surface):
            result.append(Segment(surface))
            continue
        result.extend(_split_okurigana(surface, to_hiragana(morpheme.reading_form())))
    return _merge_plain(result)


def _split_okurigana(surface: str, reading: str) -> list[Segment]:
    """Put the reading over the kanji only: kana at either end of the word keep no ruby."""
    if not reading or not re.fullmatch(r"[\u3041-\u309fー]+", reading):
        return [Segment(surface)]  # numbers, symbols: Sudachi gives no usable reading
    start, end = 0, len(surface)
    head, tail = 0, len(reading)
    while start < end and not _KANJI.match(surface[start]) and tail - head > 0 and \
            to_hiragana(surface[start]) == reading[head]:
        start, head = start + 1, head + 1
    while end > start and not _KANJI.match(surface[end - 1]) and tail - head > 0 and \
            to_hiragana(surface[end - 1]) == reading[tail - 1]:
        end, tail = end - 1, tail - 1
    core = surface[start:end]
    parts = [Segment(surface[:start])] if start else []
    parts.append(Segment(core, reading[head:tail] if _KANJI.search(core) else None))
    if end < len(surface):
        parts.append(Segment(surface[end:]))
    return parts


def _merge_plain(parts: list[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for part in parts:
        if part.reading is None and merged and merged[-1].reading is None:
            merged[-1] = Segment(merged[-1].text + part.text)
        else:
            merged.append(part)
    return merged


def to_ruby_html(text: str) -> str:
    """HTML with ``<ruby>漢字<rt>かんじ</rt></ruby>``; everything else escaped; line breaks kept."""
    out = []
    for segment in segments(text):
        escaped = html.escape(segment.text)
        if segment.reading:
            out.append(f"<ruby>{escaped}<rt>{html.escape(segment.reading)}</rt></ruby>")
        else:
            out.append(escaped)
    return "".join(out).replace("\n", "<br>")


def to_kana(text: str) -> str:
    """``text`` with every kanji run replaced by its reading in hiragana (住民票 → じゅうみんひょう)."""
    return "".join(s.reading or s.text for s in segments(text))


def to_parenthesized(text: str) -> str:
    """Readings in parentheses after each kanji run, for channels without ruby (LINE, chat)."""
    return "".join(f"{s.text}({s.reading})" if s.reading else s.text for s in segments(text))
