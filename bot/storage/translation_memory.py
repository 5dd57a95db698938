"""The translation memory in the database, shared by every server (table ``translation_memory``).

:class:`SqlTranslationMemory` implements :class:`translations.mt.TranslationMemory` with the
same keys as the in-process memory (:func:`translations.mt.memory_key`), so a text machine
translated on one server is served from the memory on all of them, also after a restart.
A hit bumps ``hits`` and ``last_used_at`` in a separate short transaction; when that fails
(e.g. the database is busy) the hit is still returned. :meth:`SqlTranslationMemory.prune`
keeps the table bounded by dropping the least recently used rows. Texts are never logged.
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.models import TranslationMemoryEntry, utcnow
from translations.mt import memory_key

log = logging.getLogger(__name__)

Entry = TranslationMemoryEntry


class SqlTranslationMemory:
    """A thread-safe :class:`translations.mt.TranslationMemory` on SQLAlchemy (SQLite or PostgreSQL).

    Thread safety comes from SQLAlchemy: every call opens its own short-lived session.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def get(self, source_text: str, source: str, target: str, provider: str) -> str | None:
        """The stored translation, or None; a hit is counted and becomes the most recently used."""
        key = memory_key(source_text, source, target, provider)
        with self._sessions() as session:
            text = session.scalar(select(Entry.translated_text).where(Entry.key == key))
        if text is None:
            return None
        try:
            with self._sessions.begin() as session:
                session.execute(
                    update(Entry).where(Entry.key == key).values(hits=Entry.hits + 1, last_used_at=utcnow())
                )
        except SQLAlchemyError as error:  # the counters are bookkeeping: never lose the hit over them
            log.warning("translation memory: could not count a hit: %s", type(error).__name__)
        return text

    def put(self, source_text: str, source: str, target: str, provider: str, translated_text: str) -> None:
        """Store a translation, or overwrite the entry of the same key (also one another server just wrote)."""
        key = memory_key(source_text, source, target, provider)
        # The key holds the full provider; the columns are for people and are cut to their width.
        columns = {"source": source[:16], "target": target[:16], "provider": provider[:200]}
        now = utcnow()
        try:
            with self._sessions.begin() as session:
                session.add(Entry(key=key, translated_text=translated_text, hits=0, created_at=now,
                                  last_used_at=now, **columns))
        except IntegrityError:
            with self._sessions.begin() as session:
                session.execute(
                    update(Entry).where(Entry.key == key)
                    .values(translated_text=translated_text, last_used_at=now, **columns)
                )

    def count(self) -> int:
        """How many translations are stored."""
        with self._sessions() as session:
            return int(session.scalar(select(func.count()).select_from(Entry)) or 0)

    def prune(self, max_entries: int) -> int:
        """Delete the least recently used entries beyond ``max_entries``; returns how many were deleted."""
        if max_entries < 0:
            raise ValueError("max_entries must not be negative")
        with self._sessions.begin() as session:
            excess = int(session.scalar(select(func.count()).select_from(Entry)) or 0) - max_entries
            if excess <= 0:
                return 0
            oldest = select(Entry.key).order_by(Entry.last_used_at, Entry.key).limit(excess)
            deleted = session.execute(delete(Entry).where(Entry.key.in_(oldest)))
            return int(deleted.rowcount)  # type: ignore[attr-defined]

    def __len__(self) -> int:
        return self.count()
