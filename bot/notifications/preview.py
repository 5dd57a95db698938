"""What a recipient reading one language would get from a notification, before it is sent.

:class:`NoticePreview` renders the content through the same :class:`NoticeRenderer` deliveries use
(curated text, else translation memory / machine translation marked as such, else the fallback
language with its note) and stores nothing: no notification, no delivery, and no new entry in the
translation memory (a preview may be edited many times before anything is sent).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.notifications.render import NoticeRenderer, missing_languages
from bot.notifications.service import NotificationService
from bot.notifications.settings import NotificationSettings
from bot.notifications.types import Audience, InvalidNotification, NotificationContent
from translations.catalog import Catalog
from translations.mt import TranslationMemory
from translations.pipeline import TranslationPipeline


@dataclass(frozen=True)
class PreviewedNotice:
    """One language's rendering of a notification.

    ``own_text``: the content has a text of its own for this language. Otherwise the text is either
    a machine translation (``machine_translated``, with ``original`` in ``original_language``) or the
    text of ``fallback_language`` introduced by a note in the reader's language.
    """

    language: str
    text: str
    own_text: bool
    machine_translated: bool = False
    original: str | None = None
    original_language: str | None = None
    fallback_language: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The preview as ``POST /api/v1/admin/broadcasts/render`` returns it."""
        return {"language": self.language, "text": self.text, "own_text": self.own_text,
                "machine_translated": self.machine_translated, "original": self.original,
                "original_language": self.original_language, "fallback_language": self.fallback_language}


class NoticePreview:
    """Renders notification contents for one reader language without storing anything."""

    def __init__(self, service: NotificationService, catalog: Callable[[], Catalog],
                 translator: TranslationPipeline | None, settings: NotificationSettings) -> None:
        """``service`` checks requests as a broadcast would be checked; the rest is what its deliveries render with."""
        self._service = service
        self._catalog = catalog
        self._translator = translator
        self._settings = settings

    def render(self, bot: str, content: NotificationContent, language: str) -> PreviewedNotice:
        """``content`` as a follower of ``bot`` reading ``language`` would get it.

        Raises :class:`InvalidNotification` (422) for what a broadcast would be refused for, or an unknown language.
        """
        if language not in self._settings.languages:
            raise InvalidNotification("unsupported_language", f"language: unsupported language {language!r}; "
                                                              f"use one of {', '.join(self._settings.languages)}")
        # The service's own checks (bot, catalog key and parameters, texts): the same 422s as sending.
        self._service.preview(Audience(bot, languages=(language,)), content)
        catalog = self._catalog()
        renderer = NoticeRenderer(catalog, _without_memory_writes(self._translator), self._settings)
        notice = renderer.render(content, language)
        own = not missing_languages(content, {language}, lambda key, code: catalog.raw(key, code) is not None)
        reply, extra = notice.reply, notice.extra
        if content.key is not None:
            found_in = catalog.render(content.key, language, **dict(content.params)).language
            return PreviewedNotice(language, reply.text, own, fallback_language=None if own else found_in)
        return PreviewedNotice(
            language, reply.text, own, machine_translated=reply.machine_translated,
            original=reply.original if reply.machine_translated else None,
            original_language=extra.get("original_language"), fallback_language=extra.get("fallback_language"),
        )


class _ReadOnlyMemory:
    """A translation memory that is read but never written."""

    def __init__(self, memory: TranslationMemory) -> None:
        self._memory = memory

    def get(self, source_text: str, source: str, target: str, provider: str) -> str | None:
        return self._memory.get(source_text, source, target, provider)

    def put(self, source_text: str, source: str, target: str, provider: str, translated_text: str) -> None:
        return None


def _without_memory_writes(pipeline: TranslationPipeline | None) -> TranslationPipeline | None:
    """The same translator, memory (read only) and glossary: a preview leaves the memory as it was."""
    if pipeline is None:
        return None
    memory = None if pipeline.memory is None else _ReadOnlyMemory(pipeline.memory)
    return TranslationPipeline(pipeline.translator, memory, pipeline.glossary)
