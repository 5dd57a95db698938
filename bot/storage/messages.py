"""The ``messages`` table's writer: one class stores and updates messages for everyone.

Today the staff desk writes through :class:`MessageLog` (its staff, interpreter and system
messages, and the translations it keeps). The SQL store (turns) and the outbox (push status)
are to move onto it too, so the rules for a row — direction, role, status, ``out_of_turn`` —
live in one place.

Every method takes an optional ``session``: given one, the write joins the caller's
transaction (a message and what goes with it commit together); without one, the method
commits on its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.enums import Direction, MessageStatus, Role
from bot.storage import models
from bot.types import Reply


@dataclass(frozen=True)
class OutOfTurnMessage:
    """A message to the resident written outside a turn; channels push it or the resident's client polls it.

    Written by staff, an interpreter, the desk's notices (``Role.SYSTEM``) or the bot (e.g. the
    rating question after a handoff).
    """

    conversation_id: str
    role: Role
    reply: Reply
    #: The language of ``reply.text`` (the resident's).
    language: str
    #: The console account that wrote it (staff, interpreter).
    user_id: int | None = None
    #: Kept in the payload next to the reply, e.g. ``catalog_key`` and ``params`` of a notice, or the
    #: writer's own words (``source_text``, ``original_language``) for the console.
    extra: Mapping[str, Any] = field(default_factory=dict)


class MessageLog:
    """Writes of the ``messages`` table."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def add_out_of_turn(self, message: OutOfTurnMessage, *, session: Session | None = None) -> int:
        """Store ``message`` as outbound, out of turn and pending; returns its id."""
        with self._transaction(session) as current:
            row = models.Message(
                conversation_id=message.conversation_id, direction=Direction.OUT, role=message.role,
                text=message.reply.text, payload={**message.reply.to_dict(), **message.extra},
                language=message.language, status=MessageStatus.PENDING, out_of_turn=True,
                user_id=message.user_id,
            )
            current.add(row)
            current.flush()
            return row.id

    def set_status(self, message_id: int, status: MessageStatus, *, expected: MessageStatus | None = None,
                   error: str | None = None, session: Session | None = None) -> bool:
        """Set a message's status (and ``error``); with ``expected``, only from that status (a claim).

        Returns whether the message changed: False for an unknown id, or when another process
        moved it away from ``expected`` first.
        """
        condition = [models.Message.id == message_id]
        if expected is not None:
            condition.append(models.Message.status == expected)
        values: dict[str, Any] = {"status": status}
        if error is not None:
            values["error"] = error
        with self._transaction(session) as current:
            updated = current.execute(update(models.Message).where(*condition).values(**values))
            return bool(updated.rowcount == 1)  # type: ignore[attr-defined]

    def keep_translation(self, message_id: int, language: str, translation: Mapping[str, Any], *,
                         session: Session | None = None) -> None:
        """Keep a translation of the message for readers of ``language`` in its payload (``translations``)."""
        with self._transaction(session) as current:
            row = current.get(models.Message, message_id)
            if row is None:
                return
            payload = dict(row.payload or {})
            payload["translations"] = {**payload.get("translations", {}), language: dict(translation)}
            row.payload = payload

    @contextmanager
    def _transaction(self, session: Session | None) -> Iterator[Session]:
        if session is not None:
            yield session
            return
        with self._sessions.begin() as own:
            yield own
