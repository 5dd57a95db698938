"""Entity extraction: Rasa-style regexes, lookup tables and synonyms, plus built-ins.

Built-in extractors (every bot): ``date`` and ``time`` (resolved against
``today``, see :mod:`nlu.dates`), ``number`` (ASCII, full-width and kanji
numerals: "１２３", "百二十三番" -> "123") and ``isbn`` (ISBN-10/13, checksum
verified, value = the bare digits). From the bot's data: every ``regex:``
(e.g. ``library_card``, ``ticket_number``; an ``isbn`` regex is checksum
verified too) and every ``lookup:`` table, with ``synonym:`` entries mapping
surface forms to canonical values (``北区`` -> ``north``). Synonyms that are in
no lookup table become one, typed by how the training examples annotate them.

Matching happens on a folded copy of the message (NFKC, lower case, katakana =
hiragana, kanji numbers as digits); spans refer to the original message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from nlu.dates import find_dates
from nlu.normalize import katakana_to_hiragana
from nlu.numbers import MappedText, with_kanji_numbers_as_digits
from nlu.types import Entity, EntityResources, Example

LOG = logging.getLogger(__name__)
# Lower number = preferred when spans overlap.
_PRIORITY = {"regex": 0, "isbn": 1, "date": 2, "time": 3, "lookup": 4, "number": 5}
_BUILTIN_ISBN = re.compile(r"(?<![\d-])(?:97[89](?:[- ]?\d){10}|\d(?:[- ]?\d){8}[- ]?[\dx])(?![\d-])")
_NUMBER = re.compile(r"(?<![\d.])\d+(?:[.,]\d+)?(?![\d.])")
_KANA_FOLD = str.maketrans("ぁぃぅぇぉっゃゅょゎ", "あいうえおつやゆよわ")


def isbn_is_valid(digits: str) -> bool:
    """Checksum of an ISBN-10 (last may be X) or ISBN-13 given as bare characters."""
    digits = digits.upper()
    if len(digits) == 10 and digits[:9].isdigit() and (digits[9].isdigit() or digits[9] == "X"):
        values = [int(ch) for ch in digits[:9]] + [10 if digits[9] == "X" else int(digits[9])]
        return sum((10 - index) * value for index, value in enumerate(values)) % 11 == 0
    if len(digits) == 13 and digits.isdigit():
        total = sum((1 if index % 2 == 0 else 3) * int(ch) for index, ch in enumerate(digits))
        return total % 10 == 0
    return False


def _fold(text: str) -> str:
    return katakana_to_hiragana(text.lower()).translate(_KANA_FOLD)


def _match_form(text: str) -> str:
    """The form lookup entries and messages are compared in (per-character, so offsets hold)."""
    return _fold(MappedText.from_original(text).text)


@dataclass(frozen=True)
class _Span:
    type: str
    value: str
    start: int
    end: int
    source: str

    @property
    def rank(self) -> tuple[int, int]:
        return _PRIORITY[self.source], -(self.end - self.start)


def infer_synonym_types(
    synonyms: Mapping[str, Sequence[str]], examples: Iterable[Example]
) -> dict[str, str]:
    """Entity type of each canonical synonym value, from annotated training examples."""
    surface_to_canonical = {_fold(surface): canonical for canonical, forms in synonyms.items() for surface in forms}
    for name in synonyms:
        surface_to_canonical.setdefault(_fold(name), name)
    types: dict[str, str] = {}
    for example in examples:
        for entity in example.entities:
            canonical: str | None = surface_to_canonical.get(_fold(entity.value))
            if canonical is None:
                canonical = surface_to_canonical.get(_fold(entity.text))
            if canonical is not None:
                types.setdefault(canonical, entity.type)
    return types


class EntityExtractor:
    """Extract entities for one bot. Build once; :meth:`extract` is thread-safe."""

    def __init__(self, resources: EntityResources, synonym_types: Mapping[str, str] | None = None) -> None:
        self._regexes: list[tuple[str, re.Pattern[str]]] = []
        for name, patterns in resources.regexes.items():
            for pattern in patterns:
                try:
                    self._regexes.append((name, re.compile(pattern, re.IGNORECASE)))
                except re.error as error:
                    LOG.warning("nlu entities: regex %s %r ignored: %s", name, pattern, error)
        canonical_of: dict[str, str] = {}
        for canonical, forms in resources.synonyms.items():
            for form in (canonical, *forms):
                canonical_of.setdefault(_match_form(form), canonical)
        self._canonical_of = canonical_of
        entries: dict[str, str] = {}  # folded surface -> entity type
        for name, forms in resources.lookups.items():
            for form in forms:
                entries.setdefault(_match_form(form), name)
        for canonical, forms in resources.synonyms.items():
            entity_type = (synonym_types or {}).get(canonical)
            if entity_type is None:
                continue
            for form in forms:
                entries.setdefault(_match_form(form), entity_type)
        self._lookup = self._compile_lookup(entries)
        self._lookup_types = entries

    @staticmethod
    def _compile_lookup(entries: Mapping[str, str]) -> re.Pattern[str] | None:
        forms = sorted((form for form in entries if form), key=len, reverse=True)
        if not forms:
            return None
        return re.compile("|".join(re.escape(form) for form in forms))

    def extract(self, text: str, today: date | None = None) -> tuple[Entity, ...]:
        """All entities of ``text``, non-overlapping, in text order."""
        if not text:
            return ()
        today = today or date.today()
        mapped = with_kanji_numbers_as_digits(MappedText.from_original(text))
        spans = [*self._regex_spans(mapped), *self._isbn_spans(mapped), *self._date_spans(mapped, today),
                 *self._lookup_spans(text), *self._number_spans(mapped)]
        chosen: list[_Span] = []
        for span in sorted(spans, key=lambda item: item.rank):
            if all(span.end <= other.start or other.end <= span.start for other in chosen):
                chosen.append(span)
        chosen.sort(key=lambda item: item.start)
        return tuple(Entity(s.type, s.value, text[s.start : s.end], s.start, s.end) for s in chosen)

    def _regex_spans(self, mapped: MappedText) -> Iterable[_Span]:
        for name, pattern in self._regexes:
            for match in pattern.finditer(mapped.text):
                if match.end() <= match.start():
                    continue
                start, end = mapped.original_span(match.start(), match.end())
                value = match.group(0).strip()
                if name == "isbn":
                    value = re.sub(r"[- ]", "", value).upper()
                    if not isbn_is_valid(value):
                        continue
                yield _Span(name, value, start, end, "regex")

    def _isbn_spans(self, mapped: MappedText) -> Iterable[_Span]:
        for match in _BUILTIN_ISBN.finditer(mapped.text):
            value = re.sub(r"[- ]", "", match.group(0)).upper()
            if isbn_is_valid(value):
                start, end = mapped.original_span(match.start(), match.end())
                yield _Span("isbn", value, start, end, "isbn")

    def _date_spans(self, mapped: MappedText, today: date) -> Iterable[_Span]:
        for found in find_dates(mapped.text, today):
            start, end = mapped.original_span(found.start, found.end)
            yield _Span(found.kind, found.value, start, end, found.kind)

    def _number_spans(self, mapped: MappedText) -> Iterable[_Span]:
        for match in _NUMBER.finditer(mapped.text):
            start, end = mapped.original_span(match.start(), match.end())
            yield _Span("number", match.group(0).replace(",", ""), start, end, "number")

    def _lookup_spans(self, text: str) -> Iterable[_Span]:
        if self._lookup is None:
            return
        folded = MappedText.from_original(text)
        # fold kana per character so offsets stay aligned
        folded = MappedText(_fold(folded.text), folded.starts, folded.ends)
        for match in self._lookup.finditer(folded.text):
            surface = match.group(0)
            if not self._acceptable_boundaries(folded.text, match.start(), match.end()):
                continue
            start, end = folded.original_span(match.start(), match.end())
            value = self._canonical_of.get(surface, text[start:end])
            yield _Span(self._lookup_types[surface], value, start, end, "lookup")

    @staticmethod
    def _acceptable_boundaries(text: str, start: int, end: int) -> bool:
        """Latin entries need word boundaries; a one-character kanji entry (東) must stand alone."""
        before, after = text[start - 1 : start], text[end : end + 1]
        surface = text[start:end]
        if surface[0].isascii() and before.isascii() and before.isalnum():
            return False
        if surface[-1].isascii() and after.isascii() and after.isalnum():
            return False
        if len(surface) == 1 and not surface.isascii():
            return not _is_cjk(before) and not _is_cjk(after)
        return True


def _is_cjk(ch: str) -> bool:
    return bool(ch) and ("\u4e00" <= ch <= "\u9fff" or "\u3041" <= ch <= "\u30ff")
