"""The effects table: pending effects claimed by one worker at a time, finished with their follow-ups.

A claim is a conditional UPDATE (pending, or running with an expired lease → running), so two
workers never perform the same effect at once; finishing writes the follow-up messages and the
``done`` status in one transaction, so a result is delivered once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.enums import EffectStatus, Role
from bot.storage import models
from bot.storage.messages import MessageLog, OutOfTurnMessage
from bot.types import Reply


@dataclass(frozen=True)
class ClaimedEffect:
    """An effect a worker now holds, with the conversation it belongs to."""

    id: int
    conversation_id: str
    inbound_id: int
    position: int
    kind: str
    params: dict[str, Any]
    secret_id: str | None
    language: str
    attempts: int
    bot: str
    channel: str
    sender: str


class EffectStore:
    """Claims and finishes effects (SQLite or PostgreSQL)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._messages = MessageLog(sessions)

    def claim_due(self, limit: int, lease_seconds: float) -> list[ClaimedEffect]:
        """Up to ``limit`` effects that are due, now held by the caller for ``lease_seconds``."""
        now = datetime.now(UTC)
        due = or_(
            (models.EffectRecord.status == EffectStatus.PENDING) & (models.EffectRecord.next_attempt_at <= now),
            (models.EffectRecord.status == EffectStatus.RUNNING) & (models.EffectRecord.lease_until < now),
        )
        claimed: list[ClaimedEffect] = []
        with self._sessions.begin() as session:
            rows = session.execute(
                select(models.EffectRecord, models.Conversation)
                .join(models.Conversation, models.Conversation.id == models.EffectRecord.conversation_id)
                .where(due).order_by(models.EffectRecord.id).limit(limit)
            ).all()
            for effect, conversation in rows:
                candidate = ClaimedEffect(
                    effect.id, effect.conversation_id, effect.inbound_id, effect.position, effect.kind,
                    dict(effect.params or {}), effect.secret_id, effect.language, effect.attempts + 1,
                    conversation.bot, conversation.channel, conversation.sender,
                )
                taken = session.execute(
                    update(models.EffectRecord)
                    .where(models.EffectRecord.id == effect.id, models.EffectRecord.status == effect.status,
                           models.EffectRecord.attempts == effect.attempts)
                    .values(status=EffectStatus.RUNNING, attempts=candidate.attempts,
                            lease_until=now + timedelta(seconds=lease_seconds), updated_at=now)
                    .execution_options(synchronize_session=False)
                )
                if taken.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(candidate)
        return claimed

    def finish(self, effect: ClaimedEffect, replies: Sequence[Reply], status: EffectStatus,
               error: str | None = None) -> bool:
        """Store the follow-up replies and the final status at once; False if the claim was lost."""
        now = datetime.now(UTC)
        with self._sessions.begin() as session:
            done = session.execute(
                update(models.EffectRecord)
                .where(models.EffectRecord.id == effect.id, models.EffectRecord.status == EffectStatus.RUNNING,
                       models.EffectRecord.attempts == effect.attempts)
                .values(status=status, error=error, lease_until=None, secret_id=None, updated_at=now)
            )
            if done.rowcount != 1:  # type: ignore[attr-defined]
                return False  # another worker took it over after our lease expired
            for reply in replies:
                self._messages.add_out_of_turn(OutOfTurnMessage(effect.conversation_id, Role.BOT, reply,
                                                                effect.language, extra={"effect": effect.kind}),
                                               session=session)
            return True

    def retry_later(self, effect: ClaimedEffect, error: str, delay_seconds: float) -> None:
        """Give the effect back for another attempt after ``delay_seconds``."""
        now = datetime.now(UTC)
        with self._sessions.begin() as session:
            session.execute(
                update(models.EffectRecord)
                .where(models.EffectRecord.id == effect.id, models.EffectRecord.status == EffectStatus.RUNNING,
                       models.EffectRecord.attempts == effect.attempts)
                .values(status=EffectStatus.PENDING, error=error[:200], lease_until=None,
                        next_attempt_at=now + timedelta(seconds=delay_seconds), updated_at=now)
            )
