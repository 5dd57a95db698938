"""The ``messages`` table's writer: one class stores and updates messages for everyone.

The SQL store (inbound messages and a turn's replies), the staff desk (staff, interpreter and
system messages, the translations it keeps), the effect worker (effect results) and the outbox
(push status) all write through :class:`MessageLog`, so the rules for a row — direction, role,
status, ``out_of_turn``, ``reply_to`` — live in one place.

Every method takes an optional ``session``: given one, the write joins the caller's
transaction (a message and what goes with it commit together); without one, the method
commits on its own.

A message written for the resident outside a turn wakes their live connections once its
transaction commits (:mod:`bot.live`); status changes wake nobody.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, or_, update
from sqlalchemy.orm import Session, sessionmaker

from bot.enums import Direction, MessageStatus, Role
from bot.live import mark, resident_topic
from bot.records import OutboundDraft
from bot.storage import models
from bot.types import InboundMessage, Reply

#: Length of ``messages.error``.
_ERROR_CHARS = 64


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

    def add_inbound(self, conversation_id: str, message: InboundMessage, *, session: Session) -> int:
        """Store the resident's ``message`` as ``received`` (before any processing); returns its id."""
        row = models.Message(
            conversation_id=conversation_id, direction=Direction.IN, role=Role.RESIDENT, text=message.text,
            payload=message.stored_payload(), language=message.language, status=MessageStatus.RECEIVED,
            external_id=message.external_id,
        )
        session.add(row)
        session.flush()
        return row.id

    def add_reply(self, conversation_id: str, reply_to: int, draft: OutboundDraft, *, topic: str | None = None,
                  detached: bool = False, session: Session) -> None:
        """Store a reply to inbound message ``reply_to``; a ``detached`` one is pushed or polled like a notice."""
        session.add(models.Message(
            conversation_id=conversation_id, direction=Direction.OUT, role=draft.role, text=draft.reply.text,
            payload=draft.reply.to_dict(), language=draft.language, topic=topic, status=MessageStatus.PENDING,
            reply_to=reply_to, out_of_turn=detached,
        ))
        if detached:
            _wake_resident(session, conversation_id)

    def settle_inbound(self, message_id: int, *, language: str, topic: str | None, confidence: float | None,
                       session: Session) -> None:
        """Mark an inbound message ``processed`` with what its turn understood."""
        session.execute(update(models.Message).where(models.Message.id == message_id).values(
            status=MessageStatus.PROCESSED, language=language, topic=topic, confidence=confidence))

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
            _wake_resident(current, message.conversation_id)
            return row.id

    def add_delivered(self, conversation_ids: Sequence[str], role: Role, reply: Reply, language: str,
                      extra: Mapping[str, Any], *, session: Session) -> None:
        """Store one out-of-turn message per conversation, already ``sent`` (a channel delivered them in bulk).

        One multi-row INSERT: a batch of 500 recipients costs one statement, not 500.
        """
        if not conversation_ids:
            return
        payload = {**reply.to_dict(), **extra}
        now = datetime.now(UTC)
        session.execute(insert(models.Message), [
            {"conversation_id": conversation_id, "direction": Direction.OUT, "role": role, "text": reply.text,
             "payload": payload, "language": language, "status": MessageStatus.SENT, "out_of_turn": True,
             "attempts": 1, "created_at": now}
            for conversation_id in conversation_ids
        ])

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

    def claim_push(self, message_id: int, *, status: MessageStatus, attempts: int, now: datetime,
                   until: datetime, session: Session | None = None) -> bool:
        """Claim an outbound message for one push attempt: ``sending`` until ``until``, ``attempts`` + 1.

        Only a message that is due (``retry_at`` empty or not after ``now``) and still as the caller
        saw it (``status`` — ``pending``, or ``sending`` with an expired claim — and ``attempts``)
        is claimed, so of two outboxes racing for it one wins. Returns whether this caller won.
        """
        due = or_(models.Message.retry_at.is_(None), models.Message.retry_at <= now)
        with self._transaction(session) as current:
            taken = current.execute(
                update(models.Message)
                .where(models.Message.id == message_id, models.Message.status == status,
                       models.Message.attempts == attempts, due)
                .values(status=MessageStatus.SENDING, attempts=attempts + 1, retry_at=until)
                .execution_options(synchronize_session=False)
            )
            return bool(taken.rowcount == 1)  # type: ignore[attr-defined]

    def finish_push(self, message_id: int, attempts: int, status: MessageStatus, *, error: str | None = None,
                    session: Session | None = None) -> bool:
        """End the push claimed as attempt ``attempts``: ``sent``, or ``failed`` with ``error`` (the dead letter).

        False when the claim was lost (it expired and another outbox claimed the message again).
        """
        return self._release_push(message_id, attempts, {"status": status, "retry_at": None, "error": _short(error)},
                                  session)

    def retry_push(self, message_id: int, attempts: int, *, at: datetime, error: str,
                   session: Session | None = None) -> bool:
        """Give the push claimed as attempt ``attempts`` back: ``pending`` again from ``at``, with ``error``."""
        return self._release_push(message_id, attempts,
                                  {"status": MessageStatus.PENDING, "retry_at": at, "error": _short(error)}, session)

    def requeue_push(self, message_id: int, *, session: Session | None = None) -> bool:
        """Send a ``failed`` outbound out-of-turn message again (an admin's decision), from its first attempt."""
        with self._transaction(session) as current:
            updated = current.execute(
                update(models.Message)
                .where(models.Message.id == message_id, models.Message.status == MessageStatus.FAILED,
                       models.Message.direction == Direction.OUT, models.Message.out_of_turn.is_(True))
                .values(status=MessageStatus.PENDING, attempts=0, retry_at=None, error=None)
                .execution_options(synchronize_session=False)
            )
            return bool(updated.rowcount == 1)  # type: ignore[attr-defined]

    def _release_push(self, message_id: int, attempts: int, values: dict[str, Any],
                      session: Session | None) -> bool:
        with self._transaction(session) as current:
            updated = current.execute(
                update(models.Message)
                .where(models.Message.id == message_id, models.Message.status == MessageStatus.SENDING,
                       models.Message.attempts == attempts)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
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


def _wake_resident(session: Session, conversation_id: str) -> None:
    """After the commit, wake the resident's live connections (the widget's socket, the kiosk's long poll)."""
    conversation = session.get(models.Conversation, conversation_id)
    if conversation is not None:
        mark(session, resident_topic(conversation.bot, conversation.channel, conversation.sender))


def _short(error: str | None) -> str | None:
    """``error`` cut to what the column holds (64 characters)."""
    if error is None or len(error) <= _ERROR_CHARS:
        return error
    return error[:_ERROR_CHARS - 1] + "…"
