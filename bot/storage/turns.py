"""One turn at a time per conversation: leases, the next message to answer, and stored outcomes.

A server answers a conversation only while it holds the conversation's lease (a conditional
UPDATE, so exactly one process has it, on SQLite and PostgreSQL alike). The holder answers every
``received`` message of the conversation in order; a server whose request lost the race waits
for its message's stored outcome instead. A lease that is not renewed (a killed process)
expires, and the recovery sweep answers what was left.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.enums import Direction, EffectStatus, MessageStatus
from bot.records import CompletedTurn, PendingTurn, TurnOutcome
from bot.storage import models
from bot.types import InboundMessage, Reply

__all__ = ["TurnQueueStore", "add_turn_extras", "token_hash"]


def token_hash(token: str) -> str:
    """How a secure-form token is stored (the token itself only travels in the link)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_turn_extras(session: Session, turn: CompletedTurn, now: datetime) -> None:
    """Store the turn's effects (pending, for the worker) and the secure form it opened."""
    for position, effect in enumerate(turn.effects):
        session.add(models.EffectRecord(
            conversation_id=turn.conversation_id, inbound_id=turn.inbound_id, position=position,
            kind=effect.kind, params=dict(effect.params), secret_id=effect.secret, language=turn.language,
            status=EffectStatus.PENDING, next_attempt_at=now, created_at=now, updated_at=now,
        ))
    request = turn.secret_request
    if request is not None:
        session.add(models.SecretRequest(
            token_hash=token_hash(request.token), conversation_id=turn.conversation_id, form=request.form,
            slots=list(request.slots), language=turn.language, expires_at=now + timedelta(minutes=10),
        ))


class TurnQueueStore:
    """The :class:`bot.protocols.TurnQueue` on SQLAlchemy (SQLite or PostgreSQL)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def acquire(self, conversation_id: str, owner: str, seconds: float) -> bool:
        """Take (or renew) the conversation's lease for ``seconds``; False while another process holds it."""
        now = datetime.now(UTC)
        with self._sessions.begin() as session:
            taken = session.execute(
                update(models.Conversation)
                .where(models.Conversation.id == conversation_id,
                       or_(models.Conversation.lease_owner.is_(None), models.Conversation.lease_owner == owner,
                           models.Conversation.lease_until < now))
                .values(lease_owner=owner, lease_until=now + timedelta(seconds=seconds))
            )
            return bool(taken.rowcount == 1)  # type: ignore[attr-defined]

    def release(self, conversation_id: str, owner: str) -> bool:
        """Give the lease up (only the owner can); True when a message of the conversation is still waiting."""
        with self._sessions.begin() as session:
            session.execute(
                update(models.Conversation)
                .where(models.Conversation.id == conversation_id, models.Conversation.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )
            waiting = session.scalar(
                select(models.Message.id)
                .where(models.Message.conversation_id == conversation_id,
                       models.Message.direction == Direction.IN, models.Message.status == MessageStatus.RECEIVED)
                .limit(1)
            )
            return waiting is not None

    def begin_next(self, conversation_id: str) -> PendingTurn | None:
        """The oldest ``received`` message, its attempt counted (committed before the turn starts)."""
        with self._sessions.begin() as session:
            row = session.scalar(
                select(models.Message)
                .where(models.Message.conversation_id == conversation_id,
                       models.Message.direction == Direction.IN, models.Message.status == MessageStatus.RECEIVED)
                .order_by(models.Message.id).limit(1)
            )
            if row is None:
                return None
            conversation = session.get(models.Conversation, conversation_id)
            assert conversation is not None
            row.attempts = (row.attempts or 0) + 1
            message = InboundMessage.from_stored(conversation.bot, conversation.channel, conversation.sender,
                                                 row.text, row.language, row.external_id, dict(row.payload or {}))
            return PendingTurn(conversation_id, row.id, message, row.attempts)

    def outcome(self, message_id: int) -> TurnOutcome | None:
        """The status of inbound ``message_id`` and the replies stored for it (None: no such message)."""
        with self._sessions() as session:
            row = session.get(models.Message, message_id)
            if row is None:
                return None
            replies = session.scalars(
                select(models.Message).where(models.Message.reply_to == message_id).order_by(models.Message.id)
            ).all()
            language = next((reply.language for reply in replies if reply.language), row.language)
            return TurnOutcome(
                status=row.status, replies=tuple(Reply.from_dict(dict(reply.payload or {})) for reply in replies),
                language=language, topic=row.topic, confidence=row.confidence,
            )

    def unanswered(self, older_than: timedelta, limit: int = 100) -> list[str]:
        """Conversations with a message left ``received`` for longer than ``older_than`` and no live lease."""
        now = datetime.now(UTC)
        with self._sessions() as session:
            rows = session.scalars(
                select(models.Message.conversation_id)
                .join(models.Conversation, models.Conversation.id == models.Message.conversation_id)
                .where(models.Message.direction == Direction.IN, models.Message.status == MessageStatus.RECEIVED,
                       models.Message.created_at < now - older_than,
                       or_(models.Conversation.lease_owner.is_(None),
                           and_(models.Conversation.lease_until.is_not(None),
                                models.Conversation.lease_until < now)))
                .distinct().limit(limit)
            ).all()
            return list(rows)
