"""The registry: every language Yorisoi speaks, in canonical order, and lookups over it.

Adding a language means adding one :class:`~languages.spec.LanguageSpec` here (and its
catalog, glossary renderings and KB text); the NLU, translations and connectors read it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from languages.spec import LanguageSpec, ScriptCues

_LATIN = ScriptCues(scripts=("latin",))
_JAPANESE = ScriptCues(scripts=("kana", "han"), decisive="kana")
_CHINESE = ScriptCues(scripts=("han",))
_VIETNAMESE_ONLY = frozenset("ăđơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ")


def _language(
    code: str,
    endonym: str,
    script_cues: ScriptCues = _LATIN,
    *,
    line_locales: tuple[str, ...] | None = None,
    easy_japanese: bool = False,
    base: str | None = None,
    spaces_between_words: bool = True,
    spaces_between_sentences: bool = True,
    argos_codes: tuple[str, ...] | None = None,
    fallbacks: tuple[str, ...] = ("en", "ja"),
) -> LanguageSpec:
    return LanguageSpec(
        code=code,
        endonym=endonym,
        script_cues=script_cues,
        line_locales=(code,) if line_locales is None else line_locales,
        easy_japanese=easy_japanese,
        base=base or code,
        spaces_between_words=spaces_between_words,
        spaces_between_sentences=spaces_between_sentences,
        argos_codes=(base or code,) if argos_codes is None else argos_codes,
        fallbacks=fallbacks,
    )


_SPECS = (
    _language("ja", "日本語", _JAPANESE, spaces_between_words=False, spaces_between_sentences=False,
              fallbacks=("en",)),
    # Easy Japanese readers read Japanese, slowly: Japanese is their fallback. Machine translation
    # cannot write easy Japanese, so machines see ordinary Japanese. LINE never reports it.
    _language("ja-x-easy", "やさしい にほんご", _JAPANESE, line_locales=(), easy_japanese=True, base="ja",
              spaces_between_words=False, spaces_between_sentences=False, fallbacks=("ja", "en")),
    _language("en", "English"),
    # Chinese is simplified unless a subtag says traditional (zh-Hans-HK is read as traditional too).
    _language("zh-Hans", "简体中文", _CHINESE, line_locales=("zh", "zh-Hans", "zh-CN", "zh-SG"),
              spaces_between_words=False, spaces_between_sentences=False,
              argos_codes=("zh", "zh-Hans", "zh_Hans", "zh-CN")),
    _language("zh-Hant", "繁體中文", _CHINESE, line_locales=("zh-Hant", "zh-TW", "zh-HK", "zh-MO"),
              spaces_between_words=False, spaces_between_sentences=False,
              argos_codes=("zt", "zh-Hant", "zh_Hant", "zh-TW")),
    _language("ko", "한국어", ScriptCues(scripts=("hangul",), decisive="hangul")),
    _language("vi", "Tiếng Việt", ScriptCues(scripts=("latin",), letters=_VIETNAMESE_ONLY)),
    _language("tl", "Tagalog", line_locales=("tl", "fil")),
    _language("ne", "नेपाली", ScriptCues(scripts=("devanagari",), decisive="devanagari")),
    _language("pt", "Português", line_locales=("pt", "pt-BR"), argos_codes=("pt", "pb", "pt-BR", "pt_BR")),
    _language("es", "Español"),
    _language("id", "Bahasa Indonesia", line_locales=("id", "in")),
    _language("th", "ภาษาไทย", ScriptCues(scripts=("thai",), decisive="thai"), spaces_between_words=False),
    _language("my", "မြန်မာဘာသာ", ScriptCues(scripts=("myanmar",), decisive="myanmar"),
              spaces_between_words=False),
)

#: Every language the platform can be configured for, by BCP 47 code, in canonical order.
LANGUAGES: Mapping[str, LanguageSpec] = MappingProxyType({language.code: language for language in _SPECS})
#: Every language code, in canonical order (ja, ja-x-easy, en first).
ALL_CODES: tuple[str, ...] = tuple(LANGUAGES)

#: Lower-cased LINE tag → code (``zh-tw`` → ``zh-Hant``, ``in`` → ``id``).
_BY_LINE_LOCALE = {locale.lower(): language.code for language in _SPECS for locale in language.line_locales}
#: Argos code → code; the first language claiming a code wins (``ja`` → ``ja``, not ``ja-x-easy``).
_BY_ARGOS_CODE: dict[str, str] = {}
for _spec in _SPECS:
    for _argos_code in _spec.argos_codes:
        _BY_ARGOS_CODE.setdefault(_argos_code, _spec.code)
del _spec, _argos_code


def spec(code: str) -> LanguageSpec:
    """The :class:`LanguageSpec` of ``code``; KeyError naming the known codes when there is none."""
    try:
        return LANGUAGES[code]
    except KeyError:
        raise KeyError(f"unknown language {code!r}; Yorisoi knows {', '.join(ALL_CODES)}") from None


def endonym(code: str) -> str:
    """The language's own name (``ko`` → ``한국어``); an unknown code is returned as it is."""
    language = LANGUAGES.get(code)
    return language.endonym if language is not None else code


def endonyms(codes: Iterable[str] = ALL_CODES) -> dict[str, str]:
    """``{code: endonym}`` for ``codes``, in their order (every language by default)."""
    return {code: endonym(code) for code in codes}


def base_language(code: str) -> str:
    """``ja-x-easy`` → ``ja``; other codes unchanged (for tokenizers, MT and readings)."""
    language = LANGUAGES.get(code)
    return language.base if language is not None else code


def is_easy_japanese(code: str) -> bool:
    """True for easy Japanese (``ja-x-easy``), which is chosen by the user and never detected."""
    language = LANGUAGES.get(code)
    return language is not None and language.easy_japanese


def language_subtag(code: str) -> str:
    """The primary language subtag: ``zh`` for ``zh-Hans`` and ``zh-Hant``, ``ja`` for ``ja-x-easy``."""
    language = LANGUAGES.get(code)
    return language.language_subtag if language is not None else code.split("-")[0]


def fallback_chain(code: str) -> tuple[str, ...]:
    """Languages to try, in order, when text for ``code`` is missing (``code`` first).

    Easy Japanese falls back to Japanese (its readers read Japanese, slowly), Japanese to
    English, every other language to English, then Japanese (an unknown code too).
    """
    language = LANGUAGES.get(code)
    return language.fallback_chain if language is not None else (code, "en", "ja")


def from_argos_code(argos_code: str) -> str:
    """The language an Argos Translate code stands for (``zt`` → ``zh-Hant``); unknown codes unchanged."""
    return _BY_ARGOS_CODE.get(argos_code, argos_code)


def line_language(tag: str | None, allowed: Iterable[str], default: str) -> str:
    """The language of ``allowed`` a LINE language tag means (``zh-TW`` → ``zh-Hant``, ``pt-BR`` → ``pt``).

    A tag that is one of ``allowed`` (any case, ``_`` for ``-``) is that language. Otherwise the
    primary subtag names a language (``in`` → ``id``, ``zh`` → ``zh-Hans``) unless a later subtag,
    as listed in :attr:`LanguageSpec.line_locales`, names another (``zh-HK`` → ``zh-Hant``).
    Missing tags and languages not in ``allowed`` give ``default``. Easy Japanese is never chosen:
    it is a choice the user makes.
    """
    if not tag:
        return default
    by_lower = {code.lower(): code for code in allowed if not is_easy_japanese(code)}
    lowered = tag.strip().replace("_", "-").lower()
    if lowered in by_lower:
        return by_lower[lowered]
    primary, *subtags = lowered.split("-")
    home = _BY_LINE_LOCALE.get(primary)
    if home is not None:
        primary = LANGUAGES[home].language_subtag.lower()
    for subtag in subtags:
        code = _BY_LINE_LOCALE.get(f"{primary}-{subtag}")
        if code is not None and code != home:
            return by_lower.get(code.lower(), default)
    return by_lower.get((home or primary).lower(), default)


def browser_language(accept_language: str, languages: Iterable[str], default: str) -> str:
    """The first language of an ``Accept-Language`` header (by quality) that is in ``languages``, else ``default``.

    ``zh-TW`` / ``zh-Hant`` / ``zh-HK`` read Traditional Chinese, other ``zh`` tags Simplified; ``pt-BR`` reads ``pt``.
    """
    by_lower = {code.lower(): code for code in languages}
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")[:20]):
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            weight = 0.0
        ranked.append((-weight, position, tag.strip().lower()))
    for _weight, _position, tag in sorted(ranked):
        if tag in by_lower:
            return by_lower[tag]
        if tag.startswith("zh"):
            tag = "zh-hant" if any(mark in tag for mark in ("hant", "-tw", "-hk", "-mo")) else "zh-hans"
        for candidate in (tag, tag.split("-")[0]):
            if candidate in by_lower:
                return by_lower[candidate]
    return default
