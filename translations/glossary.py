"""City glossary: terms protected from machine translation by placeholders (``glossary.yml``).

:meth:`Glossary.mask` replaces each term in the source text with a numbered placeholder
(``XG1X``, ``XG2X`` ...: plain Latin letters and digits that translation models copy
through); :meth:`Glossary.restore` puts the term's rendering in the target language in
their place. Restoring is tolerant: ``xg 1 x``, full-width ``ＸＧ１Ｘ`` and extra spaces
are recognised, spaces a model puts around a placeholder in Japanese, Chinese, Thai or
Burmese are removed, and a rendering that starts a sentence is capitalised. When a
placeholder was lost, :meth:`Glossary.restore` returns None and the caller translates
the text without protection instead.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import yaml

from languages import LANGUAGES, base_language

GLOSSARY_PATH = Path(__file__).resolve().parent / "glossary.yml"
#: Languages written without spaces between words: no spaces around a restored term.
NO_WORD_SPACE_LANGUAGES = frozenset(code for code, language in LANGUAGES.items() if not language.spaces_between_words)
_PLACEHOLDER = re.compile(r"(\s*)[XxＸｘ]\s?[GgＧｇ]\s?([0-9０-９]{1,3})\s?[XxＸｘ](\s*)")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff]")
_PARENTHESIZED = re.compile(r"\s*[（(][^（）()]*[）)]\s*$")


def placeholder(number: int) -> str:
    """The placeholder for the ``number``-th term of a text (1-based): ``XG1X``."""
    return f"XG{number}X"


@dataclass(frozen=True)
class Term:
    """One city term: its Japanese form, renderings per language and extra spellings to match."""

    ja: str
    renderings: Mapping[str, str]
    match: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def rendering(self, language: str) -> str:
        """The term in ``language``: its own rendering, else Japanese for ja/ja-x-easy, else English."""
        if language in self.renderings:
            return self.renderings[language]
        if base_language(language) == "ja":
            return self.ja
        return self.renderings["en"]

    def forms(self, language: str) -> tuple[str, ...]:
        """Spellings recognised in text written in ``language``."""
        if base_language(language) == "ja":
            forms = [self.ja, self.renderings.get("ja-x-easy", ""), *self.match.get("ja", ())]
        else:
            own = self.renderings.get(language, "")
            forms = [own, _PARENTHESIZED.sub("", own), *self.match.get(language, ())]
        return tuple(dict.fromkeys(form for form in forms if form.strip()))


@dataclass(frozen=True)
class Masked:
    """A text with its terms replaced by placeholders; ``renderings[n - 1]`` replaces ``XG{n}X``."""

    text: str
    renderings: tuple[str, ...]
    target: str


class Glossary:
    """The city's protected terms."""

    def __init__(self, terms: Sequence[Term] = ()) -> None:
        self._terms = tuple(terms)
        self._patterns: dict[str, re.Pattern[str] | None] = {}

    @classmethod
    def load(cls, path: Path = GLOSSARY_PATH) -> Glossary:
        """Read and validate ``glossary.yml``; a malformed entry raises ValueError naming it."""
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise ValueError(f"{path}: cannot read the glossary: {error}") from error
        entries = data.get("terms", []) if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise ValueError(f"{path}: expected a `terms:` list")
        return cls([_parse_term(entry, f"{path}: term {number}") for number, entry in enumerate(entries, 1)])

    @property
    def terms(self) -> tuple[Term, ...]:
        """All terms, in file order."""
        return self._terms

    @cached_property
    def fingerprint(self) -> str:
        """16 hex chars identifying the glossary's content (part of the translation-memory key)."""
        canonical = [[term.ja, dict(sorted(term.renderings.items())), dict(term.match)] for term in self._terms]
        return hashlib.sha256(json.dumps(canonical, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]

    def mask(self, text: str, source: str, target: str) -> Masked:
        """Replace the terms of ``text`` (written in ``source``) with placeholders for ``target``.

        A text that already contains something looking like a placeholder is left unmasked.
        """
        pattern = self._pattern(source)
        if pattern is None or _PLACEHOLDER.search(text):
            return Masked(text, (), target)
        numbers: dict[int, int] = {}  # term index -> placeholder number
        renderings: list[str] = []
        by_form = self._term_by_form(source)

        def substitute(match: re.Match[str]) -> str:
            index = by_form.get(match.group(0).casefold())
            if index is None:  # case folding disagreed with the regex: leave the text as it is
                return match.group(0)
            if index not in numbers:
                renderings.append(self._terms[index].rendering(target))
                numbers[index] = len(renderings)
            return placeholder(numbers[index])

        return Masked(pattern.sub(substitute, text), tuple(renderings), target)

    def restore(self, translated: str, masked: Masked) -> str | None:
        """``translated`` with placeholders replaced by renderings; None if a placeholder went missing."""
        if not masked.renderings:
            return translated
        seen: set[int] = set()
        no_space = masked.target in NO_WORD_SPACE_LANGUAGES

        def substitute(match: re.Match[str]) -> str:
            number = int(match.group(2).translate(_FULLWIDTH_DIGITS))
            before, after = match.group(1), match.group(3)
            if not 1 <= number <= len(masked.renderings):
                return " " if before and after and not no_space else ""  # a placeholder the model invented
            seen.add(number)
            rendering = masked.renderings[number - 1]
            start, end = match.start(), match.end()
            if no_space:
                before = before if start and _is_ascii_or_latin(translated[start - 1]) else ""
                after = after if end < len(translated) and _is_ascii_or_latin(translated[end]) else ""
            elif _starts_sentence(translated[:start]) and rendering[:1].islower():
                rendering = rendering[0].upper() + rendering[1:]
            return f"{before}{rendering}{after}"

        restored = _PLACEHOLDER.sub(substitute, translated)
        if len(seen) < len(masked.renderings):
            return None
        return restored

    def _pattern(self, source: str) -> re.Pattern[str] | None:
        if source not in self._patterns:
            forms = sorted(self._term_by_form(source), key=len, reverse=True)
            alternatives = [_form_pattern(form) for form in forms]
            self._patterns[source] = re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None
        return self._patterns[source]

    def _term_by_form(self, source: str) -> dict[str, int]:
        by_form: dict[str, int] = {}
        for index, term in enumerate(self._terms):
            for form in term.forms(source):
                by_form.setdefault(form.casefold(), index)
        return by_form


_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def _form_pattern(form: str) -> str:
    """A form as a regex; Latin words only match whole (``card`` not inside ``cards``)."""
    pattern = re.escape(form)
    if _LATIN.match(form[0]):
        pattern = r"(?<![\w\-])" + pattern
    if _LATIN.match(form[-1]):
        pattern += r"(?![\w\-])"
    return pattern


def _is_ascii_or_latin(char: str) -> bool:
    return char.isascii() or bool(_LATIN.match(char))


def _starts_sentence(before: str) -> bool:
    stripped = before.rstrip()
    return not stripped or stripped[-1] in ".!?。！？\n"


def _parse_term(entry: object, where: str) -> Term:
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected a mapping like `ja: 住民票` / `en: ...`")
    ja, en = entry.get("ja"), entry.get("en")
    if not isinstance(ja, str) or not ja.strip():
        raise ValueError(f"{where}: `ja` (the Japanese term) is required")
    if not isinstance(en, str) or not en.strip():
        raise ValueError(f"{where} ({ja}): `en` is required (the fallback for other languages)")
    renderings: dict[str, str] = {}
    match: dict[str, tuple[str, ...]] = {}
    for key, value in entry.items():
        if key == "match":
            if not isinstance(value, dict):
                raise ValueError(f"{where} ({ja}): `match` must map a language to a list of spellings")
            for language, spellings in value.items():
                _check_language(language, where, ja)
                if isinstance(spellings, str):
                    spellings = [spellings]
                if not isinstance(spellings, list) or not all(isinstance(s, str) for s in spellings):
                    raise ValueError(f"{where} ({ja}): `match.{language}` must be a list of texts")
                match[language] = tuple(s for s in spellings if s.strip())
            continue
        _check_language(key, where, ja)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{where} ({ja}): `{key}` must be a non-empty text")
        if _PLACEHOLDER.search(value):
            raise ValueError(f"{where} ({ja}): `{key}` looks like a placeholder (XG1X)")
        if key != "ja":
            renderings[key] = value.strip()
    return Term(ja.strip(), renderings, match)


def _check_language(language: object, where: str, ja: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"{where} ({ja}): unknown language {language!r} (known: {', '.join(LANGUAGES)})")
