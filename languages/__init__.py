"""The languages Yorisoi speaks: one :class:`LanguageSpec` per language, in one registry.

Every list of languages in the platform (the NLU's, the config's, the translation
pipeline's, the connectors' language buttons and LINE's tag mapping) comes from
:data:`LANGUAGES`. This package imports no other Yorisoi package: every layer may use it.

>>> spec("ja-x-easy").fallback_chain
('ja-x-easy', 'ja', 'en')
>>> line_language("zh-TW", ALL_CODES, "ja")
'zh-Hant'
"""

from __future__ import annotations

from languages.registry import (
    ALL_CODES,
    LANGUAGES,
    base_language,
    browser_language,
    endonym,
    endonyms,
    fallback_chain,
    from_argos_code,
    is_easy_japanese,
    language_subtag,
    line_language,
    spec,
)
from languages.spec import SCRIPT_RANGES, SCRIPTS, LanguageSpec, ScriptCues, script_of

__all__ = [
    "ALL_CODES",
    "LANGUAGES",
    "SCRIPTS",
    "SCRIPT_RANGES",
    "LanguageSpec",
    "ScriptCues",
    "base_language",
    "browser_language",
    "endonym",
    "endonyms",
    "fallback_chain",
    "from_argos_code",
    "is_easy_japanese",
    "language_subtag",
    "line_language",
    "script_of",
    "spec",
]
