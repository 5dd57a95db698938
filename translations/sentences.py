"""Sentence splitting for machine translation, offline and rule-based.

Argos Translate's own splitter (Stanza / MiniSBD) may download models at translate
time; Yorisoi never calls it. Rules, per script:

- Japanese, Chinese: after 。．！？!? (and any closing quote or bracket), no space needed,
  except inside a quotation that continues (「はい。」と言った).
- Devanagari (Nepali, Hindi): after । ॥ and ?!.
- Myanmar: after ။ (၊ is a comma).
- Thai: at a space between two Thai characters, and after ๚ ๛. ฯ is *not* a
  sentence end: it abbreviates (กรุงเทพฯ), so a sentence only ends there at a space.
- Latin, Hangul and the rest: after .!?… followed by a space and a character that
  is not a lower-case letter, unless the word before the period is a known
  abbreviation (Mr., e.g., Sra., No.), a single initial (J. Smith) or a list number ("2. ").

Lines are split first; every piece is stripped. Over-long sentences are cut at a
comma or a space so one sentence never exceeds the model's input length.
"""

from __future__ import annotations

import re

from languages import LANGUAGES

#: Languages written without spaces between sentences (Japanese, Chinese), with the Argos codes of their models.
NO_SPACE_LANGUAGES = frozenset(
    code
    for language in LANGUAGES.values()
    if not language.spaces_between_sentences
    for code in (language.code, language.argos_codes[0])
)
#: Longest sentence handed to a model, in characters (a longer one is cut at a comma or space).
MAX_SENTENCE_CHARS = 400

_CLOSERS = re.escape("\"'”’」』）)]】〉》»")
_CJK_END = re.compile(rf"[。．！？!?]+[{_CLOSERS}]*")
_DEVANAGARI_END = re.compile(rf"(?:[।॥]+|[?!]+)[{_CLOSERS}]*")
_MYANMAR_END = re.compile(rf"[။]+[{_CLOSERS}]*")
_THAI_END = re.compile(r"[๚๛]+|(?<=[\u0e00-\u0e7f])\s+(?=[\u0e00-\u0e7f])")
_LATIN_END = re.compile(rf"(?:\.{{3}}|…|[.!?]+)[{_CLOSERS}]*(?=\s+\S)")
_WORD_BEFORE = re.compile(r"(\S+)$")
_ABBREVIATION_WORDS = """
    mr mrs ms dr prof sr sra srta jr st no nos vs etc e.g i.e approx dept tel fax ext
    a.m p.m jan feb mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun
    av avda dña dn sto sta ltda cia pág pag nº n.º vol ed eds fig ca cf al bros inc ltd co corp
    gng jl no. kec kab hal tgl
"""
_ABBREVIATIONS = frozenset(_ABBREVIATION_WORDS.split())
_SOFT_BREAK = re.compile(r"[、，,;；:：]\s*|\s+")


def split_sentences(text: str, language: str) -> list[str]:
    """``text`` as a list of sentences (lines first), without empty pieces.

    >>> split_sentences("住民票をください。ありがとう！", "ja")
    ['住民票をください。', 'ありがとう！']
    >>> split_sentences("Mr. Tanaka is here. He waits.", "en")
    ['Mr. Tanaka is here.', 'He waits.']
    """
    sentences: list[str] = []
    for line in text.splitlines():
        for sentence in _split_line(line.strip(), language):
            sentences.extend(_cut_long(sentence))
    return sentences


def join_sentences(sentences: list[str], language: str) -> str:
    """Sentences of one line joined the way ``language`` writes them (no space in Japanese and Chinese)."""
    separator = "" if language in NO_SPACE_LANGUAGES else " "
    return separator.join(s for s in (sentence.strip() for sentence in sentences) if s)


def _split_line(line: str, language: str) -> list[str]:
    if not line:
        return []
    # CJK terminators end a sentence in any language (Japanese quoted inside English, and so on).
    boundaries = {
        match.end()
        for match in _CJK_END.finditer(line)
        if not _ascii_mark_after_non_cjk(line, match) and not _quoted_then_continues(line, match)
    }
    boundaries |= {match.end() for match in _DEVANAGARI_END.finditer(line) if _has_devanagari(line)}
    boundaries |= {match.end() for match in _MYANMAR_END.finditer(line)}
    boundaries |= {match.end() for match in _THAI_END.finditer(line)}
    boundaries |= {match.end() for match in _LATIN_END.finditer(line) if _is_latin_boundary(line, match)}
    pieces, start = [], 0
    for end in sorted(boundaries):
        piece = line[start:end].strip()
        if piece:
            pieces.append(piece)
        start = end
    tail = line[start:].strip()
    if tail:
        pieces.append(tail)
    return pieces


def _has_devanagari(line: str) -> bool:
    return any("\u0900" <= char <= "\u097f" for char in line)


def _ascii_mark_after_non_cjk(line: str, match: re.Match[str]) -> bool:
    """ASCII ?! inside Latin text are handled by the Latin rule (they need a following space there)."""
    if any(char in "。．！？" for char in match.group(0)):
        return False
    before = line[match.start() - 1] if match.start() else ""
    return not before or not _is_cjk(before)


def _quoted_then_continues(line: str, match: re.Match[str]) -> bool:
    """「はい。」と言った: a quote closed after its 。 and followed by と/って/、 is one sentence."""
    closed = match.group(0)[-1] in "」』）)\"”"
    return closed and line[match.end(): match.end() + 1] in ("と", "っ", "、", "，")


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return 0x3000 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0xFF00 <= code <= 0xFFEF or code >= 0x20000


def _is_latin_boundary(line: str, match: re.Match[str]) -> bool:
    rest = line[match.end():].lstrip()
    if not rest or rest[0].islower():
        return False
    if match.group(0).startswith(".") and not match.group(0).startswith("..."):
        word_match = _WORD_BEFORE.search(line[: match.start()])
        word = word_match.group(1) if word_match else ""
        bare = word.lstrip("(\"'“‘«¿¡").lower()
        if bare in _ABBREVIATIONS or bare.rstrip(".") in _ABBREVIATIONS:
            return False
        if len(bare) == 1 and bare.isalpha():
            return False  # an initial: "J. Smith"
        if bare.isdigit() and len(bare) <= 2:
            return False  # a list number: "1. Bring your card. 2. Go to the ward office."
    return True


def _cut_long(sentence: str, limit: int = MAX_SENTENCE_CHARS) -> list[str]:
    """Cut a sentence longer than ``limit`` at the last comma or space before it (hard cut if none)."""
    pieces = []
    while len(sentence) > limit:
        cut = 0
        for match in _SOFT_BREAK.finditer(sentence, 0, limit):
            cut = match.end()
        if cut <= limit // 4:
            cut = limit
        pieces.append(sentence[:cut].strip())
        sentence = sentence[cut:].strip()
    if sentence:
        pieces.append(sentence)
    return pieces
