"""Machine translation contracts: the result type, the translator and translation-memory protocols.

Everything here is backend-neutral; :mod:`translations.argos_backend` implements
:class:`Translator` with Argos Translate packages, and
:class:`translations.pipeline.TranslationPipeline` puts curated text, the memory,
the glossary and the translator in order.

Language codes are Yorisoi's BCP 47 codes (``ja``, ``ja-x-easy``, ``zh-Hans`` ...).
Machine translation never produces easy Japanese: ``ja-x-easy`` is translated as ``ja``
(see :func:`mt_language`) and the result says so with :attr:`Note.EASY_AS_JAPANESE`.
"""

from __future__ import annotations

import hashlib
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from translations.languages import base_language


class Note(StrEnum):
    """Why a translation is not a plain machine translation; the caller shows it in the reader's language."""

    #: Target ``ja-x-easy``: the text is ordinary Japanese (machine translation cannot write easy Japanese).
    EASY_AS_JAPANESE = "easy_as_japanese"
    #: No model installed for this pair (nor a pivot through English): the original text is returned.
    NO_MODEL = "no_model"
    #: The model failed (broken package, runtime error): the original text is returned.
    FAILED = "failed"
    #: Glossary placeholders did not survive the model, so the text was translated without term protection.
    GLOSSARY_UNPROTECTED = "glossary_unprotected"


@dataclass(frozen=True)
class Translation:
    """The outcome of translating ``original`` from ``source`` to ``target``.

    ``text`` is always something to show: the translation, the curated text, or the original
    when no translation was possible (``available=False``; offer the original and an interpreter).
    ``language`` is the language ``text`` is actually written in (``ja`` for a ``ja-x-easy``
    target translated by machine, ``source`` when nothing was available).
    """

    text: str
    language: str
    source: str
    target: str
    original: str
    machine_translated: bool
    available: bool
    #: ``curated``, ``identity``, ``none`` or the model version (e.g. ``argos:ja-en@1.9#ab12cd34``).
    provider: str
    #: Served from the translation memory (no model call).
    cached: bool = False
    #: Languages the text went through, e.g. ``("ja", "en", "vi")`` for a pivot through English.
    route: tuple[str, ...] = ()
    note: Note | None = None

    @classmethod
    def untranslated(cls, text: str, source: str, target: str, note: Note, provider: str = "none") -> Translation:
        """The original text, marked as not translated (no model, or the model failed)."""
        return cls(text, source, source, target, text, False, False, provider, note=note)

    @classmethod
    def identity(cls, text: str, source: str, target: str) -> Translation:
        """``text`` unchanged because source and target are the same language for MT (ja → ja-x-easy too)."""
        note = Note.EASY_AS_JAPANESE if target == "ja-x-easy" and source != "ja-x-easy" else None
        return cls(text, source, source, target, text, False, True, "identity", note=note)


def mt_language(language: str) -> str:
    """The language machine translation works in: ``ja-x-easy`` → ``ja``; others unchanged."""
    return base_language(language)


@runtime_checkable
class Translator(Protocol):
    """A machine translation engine (Argos Translate, or a fake in tests).

    Implementations must not raise for a pair without a model: they return
    :meth:`Translation.untranslated` with :attr:`Note.NO_MODEL`.
    """

    def translate(self, text: str, source: str, target: str) -> Translation:
        """Translate ``text``; ``source``/``target`` are Yorisoi codes (``ja-x-easy`` is read as ``ja``)."""
        ...

    def available_pairs(self) -> frozenset[tuple[str, str]]:
        """Every (source, target) this engine can translate, pivots included, in Yorisoi codes."""
        ...

    def model_version(self, source: str, target: str) -> str | None:
        """A stable id of the model(s) used for the pair (part of the memory key); None when unavailable."""
        ...


@runtime_checkable
class TranslationMemory(Protocol):
    """Previously machine-translated texts, so the same text is never translated twice.

    ``source`` is the MT source language (:func:`mt_language` of the given source), ``target`` the
    requested target (``ja-x-easy`` stays ``ja-x-easy``: its glossary renderings differ), ``provider``
    the model version plus the glossary fingerprint. Implementations key entries with
    :func:`memory_key` so the in-memory and the SQL memory agree, and must be thread-safe.
    """

    def get(self, source_text: str, source: str, target: str, provider: str) -> str | None:
        """The stored translation, or None."""
        ...

    def put(self, source_text: str, source: str, target: str, provider: str, translated_text: str) -> None:
        """Store (or overwrite) a translation."""
        ...


def normalize_for_key(text: str) -> str:
    """NFKC, whitespace runs collapsed to one space, ends stripped (full-width/half-width variants share a key)."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def memory_key(source_text: str, source: str, target: str, provider: str) -> str:
    """SHA-256 hex (64 chars) of the normalized text, the pair and the provider, separated by U+001F."""
    payload = "\x1f".join((normalize_for_key(source_text), source, target, provider))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class InMemoryTranslationMemory:
    """A bounded, thread-safe LRU :class:`TranslationMemory` (per process; lost on restart)."""

    def __init__(self, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._entries: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, source_text: str, source: str, target: str, provider: str) -> str | None:
        """The stored translation, or None (a hit becomes the most recently used entry)."""
        key = memory_key(source_text, source, target, provider)
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, source_text: str, source: str, target: str, provider: str, translated_text: str) -> None:
        """Store a translation, dropping the least recently used entry when full."""
        key = memory_key(source_text, source, target, provider)
        with self._lock:
            self._entries[key] = translated_text
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
