"""The translation pipeline: curated text first, then the translation memory, then glossary-protected MT.

Order for ``translate(text, source, target, curated=...)``:

1. **Curated** text for ``target`` (passed by the caller, e.g. a catalog or knowledge entry)
   wins. For ``ja-x-easy`` without its own text, curated ``ja`` is used (noted).
2. **Same language** for MT (``ja`` ↔ ``ja-x-easy`` included): the text as is.
3. **No model** for the pair (nor a pivot through English): the original text,
   ``available=False``, ``note=Note.NO_MODEL``; the caller shows a note and offers an interpreter.
4. **Translation memory** hit: the stored text (``cached=True``); no model call.
5. **Machine translation** with glossary terms masked and restored, then stored in the memory.
   ``machine_translated=True``; the reader can always tap through to ``original``.

Nothing raises to the caller for a missing or broken model; a failing memory is logged and
skipped. MT is CPU-bound and blocking: call it from a worker thread in async code. Message
texts are never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from translations.argos_backend import ArgosTranslator
from translations.glossary import GLOSSARY_PATH, Glossary
from translations.mt import InMemoryTranslationMemory, Note, Translation, TranslationMemory, Translator, mt_language

log = logging.getLogger(__name__)


class TranslationPipeline:
    """Curated text → memory → glossary-protected machine translation (see the module docstring)."""

    def __init__(
        self,
        translator: Translator | None = None,
        memory: TranslationMemory | None = None,
        glossary: Glossary | None = None,
    ) -> None:
        self.translator = translator
        self.memory = memory
        self.glossary = glossary if glossary is not None else Glossary()

    def translate(
        self,
        text: str,
        source: str,
        target: str,
        *,
        curated: Mapping[str, str] | None = None,
        remember: bool = True,
    ) -> Translation:
        """``text`` (written in ``source``) for a reader of ``target``.

        ``curated`` maps languages to human-written versions of the same text; ``remember=False``
        keeps this text out of the translation memory (e.g. a resident's private message).
        """
        chosen = _curated(text, source, target, curated)
        if chosen is not None:
            return chosen
        if mt_language(source) == mt_language(target) or not text.strip():
            return Translation.identity(text, source, target)
        provider = self.provider_id(source, target)
        if provider is None or self.translator is None:
            return Translation.untranslated(text, source, target, Note.NO_MODEL)
        model_version, _, _ = provider.partition("|")
        stored = self._recall(text, source, target, provider)
        if stored is not None:
            note = Note.EASY_AS_JAPANESE if target == "ja-x-easy" else None
            language = mt_language(target)
            return Translation(
                stored, language, source, target, text, machine_translated=True, available=True,
                provider=model_version, cached=True, note=note,
            )
        result = self._machine_translate(text, source, target)
        if result.available and remember and result.note is not Note.GLOSSARY_UNPROTECTED:
            self._store(text, source, target, provider, result.text)
        return result

    def translate_many(
        self,
        text: str,
        source: str,
        targets: Iterable[str],
        *,
        curated: Mapping[str, str] | None = None,
        remember: bool = True,
    ) -> dict[str, Translation]:
        """One text for several readers (a chat with staff, an interpreter and a resident): target → result."""
        return {
            target: self.translate(text, source, target, curated=curated, remember=remember)
            for target in dict.fromkeys(targets)
        }

    def can_translate(self, source: str, target: str) -> bool:
        """Whether ``source`` → ``target`` needs no model or has one (pivots included)."""
        return mt_language(source) == mt_language(target) or self.provider_id(source, target) is not None

    def provider_id(self, source: str, target: str) -> str | None:
        """The memory key's provider: ``<model version>|glossary:<fingerprint>``; None without a model."""
        if self.translator is None:
            return None
        try:
            version = self.translator.model_version(source, target)
        except Exception as error:  # a broken package directory must not break the conversation
            log.warning("translation model lookup failed for %s->%s: %s", source, target, type(error).__name__)
            return None
        return None if version is None else f"{version}|glossary:{self.glossary.fingerprint}"

    def _machine_translate(self, text: str, source: str, target: str) -> Translation:
        assert self.translator is not None
        masked = self.glossary.mask(text, source, target)
        try:
            result = self.translator.translate(masked.text, source, target)
            if not result.available:
                return Translation.untranslated(text, source, target, result.note or Note.NO_MODEL)
            restored = self.glossary.restore(result.text, masked)
            note = result.note
            if restored is None:
                log.info("glossary placeholders lost for %s->%s; translating without them", source, target)
                result = self.translator.translate(text, source, target)
                restored, note = result.text, Note.GLOSSARY_UNPROTECTED
        except Exception as error:
            log.error("machine translation failed for %s->%s: %s", source, target, type(error).__name__)
            return Translation.untranslated(text, source, target, Note.FAILED)
        return replace(result, text=restored, original=text, note=note)

    def _recall(self, text: str, source: str, target: str, provider: str) -> str | None:
        if self.memory is None:
            return None
        try:
            return self.memory.get(text, mt_language(source), target, provider)
        except Exception as error:
            log.warning("translation memory lookup failed: %s", type(error).__name__)
            return None

    def _store(self, text: str, source: str, target: str, provider: str, translated: str) -> None:
        if self.memory is None:
            return
        try:
            self.memory.put(text, mt_language(source), target, provider, translated)
        except Exception as error:
            log.warning("translation memory write failed: %s", type(error).__name__)


def create_pipeline(
    data_dir: Path,
    memory: TranslationMemory | None = None,
    glossary_path: Path = GLOSSARY_PATH,
    **translator_options: Any,
) -> TranslationPipeline:
    """The production pipeline: Argos packages in ``<data_dir>/argos-packages`` (environment set, see
    :func:`translations.argos_packages.configure_environment`), ``memory`` (default: in-process LRU) and
    the glossary. Loads no model yet; raises ValueError for a malformed glossary.
    """
    translator = ArgosTranslator.from_data_dir(data_dir, **translator_options)
    memory = memory if memory is not None else InMemoryTranslationMemory()
    return TranslationPipeline(translator, memory, Glossary.load(glossary_path))


def _curated(text: str, source: str, target: str, curated: Mapping[str, str] | None) -> Translation | None:
    if not curated:
        return None
    own = curated.get(target)
    if own and own.strip():
        return Translation(own, target, source, target, text, False, True, "curated")
    japanese = curated.get("ja")
    if target == "ja-x-easy" and japanese and japanese.strip():
        return Translation(japanese, "ja", source, target, text, False, True, "curated", note=Note.EASY_AS_JAPANESE)
    return None
