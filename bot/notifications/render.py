"""A notification's text for one reader: curated first, then translation memory / MT (marked), then a fallback.

- A catalog key: the catalog's text in the reader's language (the catalog's own fallback chain).
- Texts per language: the reader's own text (easy Japanese readers read the Japanese one); else,
  when allowed, the translation pipeline (translation memory, then an installed model), marked
  ``machine_translated`` with the ``original``; else the text in the configured fallback language
  (then the reader's fallback chain, then any), introduced by ``notification.other_language``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.notifications.settings import NotificationSettings
from bot.notifications.types import NotificationContent
from bot.types import Reply
from languages import endonym, fallback_chain, is_easy_japanese
from translations.catalog import Catalog
from translations.pipeline import TranslationPipeline

#: Introduces a notice that is not in the reader's language (parameters ``language_name`` and ``text``).
OTHER_LANGUAGE_KEY = "notification.other_language"


@dataclass(frozen=True)
class RenderedNotice:
    """The reply to store for one recipient, and what is kept next to it in the message's payload."""

    reply: Reply
    extra: dict[str, Any] = field(default_factory=dict)


class NoticeRenderer:
    """Renders notification contents per reader language (one instance per delivery round caches them)."""

    def __init__(self, catalog: Catalog, translator: TranslationPipeline | None, settings: NotificationSettings,
                 ) -> None:
        self._catalog = catalog
        self._translator = translator if settings.machine_translation else None
        self._settings = settings
        self._cache: dict[tuple[str, str], RenderedNotice] = {}

    def render(self, content: NotificationContent, language: str, cache_key: str = "") -> RenderedNotice:
        """``content`` for a reader of ``language``; ``cache_key`` (e.g. the notification id) reuses results."""
        key = (cache_key, language)
        if cache_key and key in self._cache:
            return self._cache[key]
        if content.key is not None:
            rendered = self._catalog.render(content.key, language, **dict(content.params))
            notice = RenderedNotice(Reply(text=rendered.text), {"catalog_key": content.key,
                                                                "params": dict(content.params)})
        else:
            notice = self._texts(content, language)
        if cache_key:
            self._cache[key] = notice
        return notice

    def _texts(self, content: NotificationContent, language: str) -> RenderedNotice:
        texts = {code: text for code, text in content.texts.items() if text.strip()}
        own = texts.get(language) or (texts.get("ja") if is_easy_japanese(language) else None)
        if own is not None:
            return RenderedNotice(Reply(text=own))
        source = next(code for code in (self._settings.fallback_language, "ja", "en", *texts) if code in texts)
        if self._translator is not None:
            translated = self._translator.translate(texts[source], source, language, curated=texts)
            if translated.available and translated.machine_translated:
                return RenderedNotice(Reply(text=translated.text, machine_translated=True, original=texts[source]),
                                      {"original_language": source})
        chain = (self._settings.fallback_language, *fallback_chain(language)[1:], *texts)
        used = next(code for code in chain if code in texts)
        text = self._catalog.text(OTHER_LANGUAGE_KEY, language, language_name=endonym(used), text=texts[used])
        return RenderedNotice(Reply(text=text), {"fallback_language": used, "source_text": texts[used]})


def missing_languages(content: NotificationContent, languages: set[str], has_text: Callable[[str, str], bool],
                      ) -> tuple[str, ...]:
    """The ``languages`` (of recipients) ``content`` has no text of its own for, sorted.

    ``has_text(key, language)`` tells whether the catalog has ``key`` in exactly that language.
    """
    if content.key is not None:
        key = content.key
        return tuple(sorted(code for code in languages if not has_text(key, code)))
    written = {code for code, text in content.texts.items() if text.strip()}
    return tuple(sorted(code for code in languages
                        if code not in written and not (is_easy_japanese(code) and "ja" in written)))
