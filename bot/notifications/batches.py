"""Deliveries sent in bulk (a LINE multicast of up to 500 residents): claimed, finished and retried as batches.

A batch is fixed when it is claimed: its deliveries move ``queued`` → ``sending`` together under a
new batch id and a claim that holds until ``next_attempt_at``. Everything later happens to the whole
batch, conditioned on ``sending``:

* sent → every delivery ``sent`` and one transcript message per resident (already delivered) in one
  transaction; a second finisher (a worker whose claim had expired) changes nothing;
* a temporary failure → still ``sending``, the claim pushed to the retry time, one attempt counted;
* a refusal, or the last attempt → ``failed`` with the reason (the dead letters);
* a worker killed mid-call → its claim expires and another worker reclaims *the same batch* (same
  recipients, same id, hence the same platform retry key): nobody gets the notice twice.

On PostgreSQL the candidates are read ``FOR UPDATE SKIP LOCKED``, so concurrent workers claim
different deliveries instead of racing for the same ones.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.enums import DeliveryStatus, NotificationKind, Role
from bot.notifications.store import failed_attempt
from bot.storage import models
from bot.storage.messages import MessageLog
from bot.types import Reply


@dataclass(frozen=True)
class BatchCandidate:
    """The oldest due delivery of a route: which notification, in which language, a batch would take."""

    notification_id: int
    kind: NotificationKind
    language: str
    #: The delivery's id: a batch is claimed from there on (what was queued before it is sent or claimed).
    first: int = 0


@dataclass(frozen=True)
class ClaimedBatch:
    """Deliveries of one notification, route and language that this process holds for one bulk call."""

    key: str
    notification_id: int
    kind: NotificationKind
    bot: str
    content: dict[str, Any]
    #: The route the batch is sent on (``line``, ``email``).
    route: str
    language: str
    #: Attempts made before this one.
    attempts: int
    conversation_ids: tuple[str, ...]
    #: The residents' ids on the channel, in the order of ``conversation_ids``.
    senders: tuple[str, ...]
    #: The conversations the route is the channel of (LINE residents): the notice joins their transcript.
    #: A route beside the conversation (e-mail) leaves the conversation alone.
    transcripts: tuple[str, ...] = ()


class BatchStore:
    """Claims, finishes and retries batches of deliveries (see the module docstring)."""

    def __init__(self, sessions: sessionmaker[Session], default_language: str) -> None:
        self._sessions = sessions
        self._default_language = default_language
        self._messages = MessageLog(sessions)

    def skip_unfollowed(self, route: str, reason: str) -> set[int]:
        """Settle queued deliveries of ``route`` to residents who unfollowed as skipped; their notifications' ids."""
        gone = select(models.Conversation.id).where(models.Conversation.active.is_(False))
        condition = (models.Delivery.route == route, models.Delivery.status == DeliveryStatus.QUEUED,
                     models.Delivery.conversation_id.in_(gone))
        with self._sessions.begin() as session:
            touched = set(session.scalars(select(models.Delivery.notification_id).where(*condition).distinct()))
            if touched:
                session.execute(update(models.Delivery).where(*condition).values(
                    status=DeliveryStatus.SKIPPED, reason=reason, updated_at=datetime.now(UTC)))
            return touched

    def candidate(self, route: str, now: datetime) -> BatchCandidate | None:
        """The oldest due queued delivery of ``route`` to a resident who still follows: its notification and the
        language it is queued in (:meth:`claim` checks that it is still the resident's)."""
        with self._sessions() as session:
            row = session.execute(
                select(models.Delivery.id, models.Delivery.notification_id, models.Notification.kind,
                       models.Delivery.language)
                .join(models.Notification, models.Notification.id == models.Delivery.notification_id)
                .join(models.Conversation, models.Conversation.id == models.Delivery.conversation_id)
                .where(models.Delivery.route == route, models.Delivery.status == DeliveryStatus.QUEUED,
                       models.Delivery.next_attempt_at <= now, models.Conversation.active.is_(True))
                .order_by(models.Delivery.id).limit(1)
            ).first()
        return None if row is None else BatchCandidate(row[1], NotificationKind(row[2]), str(row[3]), first=row[0])

    def claim(self, route: str, candidate: BatchCandidate, size: int, now: datetime,
              until: datetime) -> ClaimedBatch | None:
        """Claim up to ``size`` due deliveries of the candidate's notification queued in its language; None if none
        were claimed.

        They are chosen on the deliveries alone, from the candidate on (an index range, however large the
        audience): joining every resident's current language to choose them cost a scan of the whole
        audience per batch. The chosen residents' languages are then checked: one who switched language
        since the notification was queued is moved to that language (a later batch) instead of being claimed.
        """
        key = str(uuid.uuid4())
        with self._sessions.begin() as session:
            chosen = session.execute(
                select(models.Delivery.id, models.Delivery.conversation_id)
                .join(models.Conversation, models.Conversation.id == models.Delivery.conversation_id)
                .where(models.Delivery.notification_id == candidate.notification_id,
                       models.Delivery.id >= candidate.first, models.Delivery.route == route,
                       models.Delivery.status == DeliveryStatus.QUEUED, models.Delivery.next_attempt_at <= now,
                       models.Delivery.language == candidate.language, models.Conversation.active.is_(True))
                .order_by(models.Delivery.id).limit(size)
                .with_for_update(skip_locked=True, of=models.Delivery)
            ).all()
            if not chosen:
                return None
            ids = [row[0] for row in chosen]
            languages = dict(session.execute(
                select(models.ConversationState.conversation_id, models.ConversationState.language)
                .where(models.ConversationState.conversation_id.in_([row[1] for row in chosen]))
            ).all())
            switched: dict[str, list[int]] = {}
            for delivery_id, conversation_id in chosen:
                current = languages.get(conversation_id) or self._default_language
                if current != candidate.language:
                    switched.setdefault(current, []).append(delivery_id)
            for current, moved in switched.items():
                session.execute(update(models.Delivery).where(models.Delivery.id.in_(moved))
                                .values(language=current, updated_at=now))
            taken = sorted(set(ids) - {delivery_id for moved in switched.values() for delivery_id in moved})
            if not taken:
                return None
            session.execute(update(models.Delivery).where(
                models.Delivery.id.in_(taken), models.Delivery.status == DeliveryStatus.QUEUED,
            ).values(status=DeliveryStatus.SENDING, batch=key, next_attempt_at=until, updated_at=now))
            return self._load(session, key)

    def reclaim(self, route: str, now: datetime, until: datetime) -> ClaimedBatch | None:
        """Take over a batch of ``route`` whose claim expired (a retry is due, or its worker died); None if none."""
        with self._sessions.begin() as session:
            key = session.scalar(
                select(models.Delivery.batch)
                .where(models.Delivery.route == route, models.Delivery.status == DeliveryStatus.SENDING,
                       models.Delivery.next_attempt_at <= now)
                .order_by(models.Delivery.next_attempt_at).limit(1)
            )
            if key is None:
                return None
            # Every row of the batch, locked in id order: two takers queue up instead of deadlocking, and
            # the second finds the claim renewed (nothing taken).
            session.execute(select(models.Delivery.id).where(models.Delivery.batch == key)
                            .order_by(models.Delivery.id).with_for_update())
            taken = session.execute(update(models.Delivery).where(
                models.Delivery.batch == key, models.Delivery.status == DeliveryStatus.SENDING,
                models.Delivery.next_attempt_at <= now,
            ).values(next_attempt_at=until, updated_at=now))
            if taken.rowcount == 0:  # type: ignore[attr-defined]
                return None
            return self._load(session, key)

    def finish(self, batch: ClaimedBatch, reply: Reply, extra: dict[str, Any]) -> bool:
        """Mark the batch sent and store each resident's message (delivered); False when it was finished already."""
        with self._sessions.begin() as session:
            finished = session.execute(update(models.Delivery).where(
                models.Delivery.batch == batch.key, models.Delivery.status == DeliveryStatus.SENDING,
            ).values(status=DeliveryStatus.SENT, attempts=batch.attempts + 1, reason=None,
                     updated_at=datetime.now(UTC)))
            if finished.rowcount == 0:  # type: ignore[attr-defined]
                return False
            self._messages.add_delivered(batch.transcripts, Role.SYSTEM, reply, batch.language, extra,
                                         session=session)
            return True

    def retry_or_fail(self, batch: ClaimedBatch, reason: str, retry_at: datetime | None) -> None:
        """Count a failed attempt: the same batch again at ``retry_at``, or failed for good (None: dead letters)."""
        with self._sessions.begin() as session:
            session.execute(update(models.Delivery).where(
                models.Delivery.batch == batch.key, models.Delivery.status == DeliveryStatus.SENDING,
            ).values(**failed_attempt(batch.attempts, reason, retry_at)))

    def release(self, batch: ClaimedBatch, now: datetime) -> None:
        """Hand the batch back unsent, as it is (same recipients and key), due at ``now``; no attempt is counted.

        For a batch that only waited for its turn under the rate limit: the next worker with a turn takes
        it over (:meth:`reclaim`).
        """
        with self._sessions.begin() as session:
            session.execute(update(models.Delivery).where(
                models.Delivery.batch == batch.key, models.Delivery.status == DeliveryStatus.SENDING,
            ).values(next_attempt_at=now, updated_at=datetime.now(UTC)))

    def _load(self, session: Session, key: str) -> ClaimedBatch | None:
        rows = session.execute(
            select(models.Delivery.notification_id, models.Notification.kind, models.Notification.bot,
                   models.Notification.content, models.Delivery.language, models.Delivery.attempts,
                   models.Delivery.conversation_id, models.Conversation.sender, models.Delivery.route,
                   models.Conversation.channel)
            .join(models.Notification, models.Notification.id == models.Delivery.notification_id)
            .join(models.Conversation, models.Conversation.id == models.Delivery.conversation_id)
            .where(models.Delivery.batch == key).order_by(models.Delivery.id)
        ).all()
        if not rows:
            return None
        first = rows[0]
        return ClaimedBatch(key, first[0], NotificationKind(first[1]), first[2], dict(first[3] or {}), first[8],
                            first[4], max(row[5] for row in rows), tuple(row[6] for row in rows),
                            tuple(row[7] for row in rows), tuple(row[6] for row in rows if row[9] == row[8]))
