"""The ``notifications`` and ``deliveries`` tables (SQLite or PostgreSQL).

The audience is resolved in SQL: one ``INSERT … SELECT`` writes a delivery per active follower
that matches the filter and route (the conversation's channel, and e-mail where the resident
confirmed an address); the unique (notification, conversation, route) triple makes a second
delivery on the same route impossible. Deliveries of routes sent in bulk (LINE multicast, e-mail)
are claimed in batches by :class:`bot.notifications.batches.BatchStore`; the others are finished
one by one here: a delivery is finished in the transaction that writes its out-of-turn message
(through :class:`bot.storage.messages.MessageLog`): the conditional UPDATE
queued → sent runs first, so two servers delivering the same row write one message.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    DateTime,
    Integer,
    Select,
    String,
    func,
    insert,
    literal,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.orm import Session, sessionmaker

from bot.enums import DeliveryStatus, NotificationKind, NotificationStatus, Role
from bot.notifications.types import Audience, DeadLetter, NotificationReport, overall_status
from bot.storage import models
from bot.storage.messages import MessageLog, OutOfTurnMessage
from bot.types import Reply

#: Dead letters a report lists at most (the counts cover them all).
DEAD_LETTERS_SHOWN = 100
#: From this many deliveries queued at once, the database's statistics are refreshed (PostgreSQL's ANALYZE).
ANALYZE_FROM = 1000


def failed_attempt(attempts: int, reason: str, retry_at: datetime | None) -> dict[str, Any]:
    """The columns of a delivery after failed attempt ``attempts + 1``: due again at ``retry_at``, or failed."""
    values: dict[str, Any] = {"attempts": attempts + 1, "reason": reason[:200], "updated_at": datetime.now(UTC)}
    if retry_at is None:
        values["status"] = DeliveryStatus.FAILED
    else:
        values["next_attempt_at"] = retry_at
    return values


@dataclass(frozen=True)
class DueDelivery:
    """A queued delivery whose time has come, with what is needed to render and address it."""

    id: int
    notification_id: int
    kind: NotificationKind
    content: dict[str, Any]
    conversation_id: str
    channel: str
    #: How it is to reach the resident: ``channel`` (into the conversation) or another route (e-mail).
    route: str
    #: Whether the resident still follows (an unfollow after the notification was queued skips it).
    active: bool
    #: The conversation's language now (the resident may have switched since it was queued).
    language: str
    attempts: int


class NotificationStore:
    """Writes and reads of notifications and their deliveries."""

    def __init__(self, sessions: sessionmaker[Session], default_language: str) -> None:
        self._sessions = sessions
        self._default_language = default_language
        self._messages = MessageLog(sessions)

    def recipient_languages(self, audience: Audience) -> dict[str, int]:
        """How many deliveries ``audience`` would get now, per language (nothing is written)."""
        recipients = self._routes(audience).subquery()
        with self._sessions() as session:
            rows = session.execute(select(recipients.c.language, func.count())
                                   .group_by(recipients.c.language)).all()
            return {str(language): int(count) for language, count in rows}

    def create(self, audience: Audience, kind: NotificationKind, content: dict[str, Any], created_by: str,
               not_before: datetime) -> tuple[int, dict[str, int]]:
        """Store the notification and a queued delivery per recipient; returns its id and recipients per language."""
        now = datetime.now(UTC)
        with self._sessions.begin() as session:
            notification = models.Notification(bot=audience.bot, kind=kind, content=content,
                                               audience=audience.to_json(), status=NotificationStatus.QUEUED,
                                               created_at=now, created_by=created_by[:64])
            session.add(notification)
            session.flush()
            recipients = self._routes(audience).subquery()
            session.execute(insert(models.Delivery).from_select(
                ["notification_id", "conversation_id", "route", "language", "status", "attempts",
                 "next_attempt_at", "created_at", "updated_at"],
                select(literal(notification.id, Integer), recipients.c.conversation_id, recipients.c.route,
                       recipients.c.language, literal(DeliveryStatus.QUEUED.value, String), literal(0, Integer),
                       literal(not_before, DateTime(timezone=True)), literal(now, DateTime(timezone=True)),
                       literal(now, DateTime(timezone=True))),
            ))
            rows = session.execute(
                select(models.Delivery.language, func.count()).where(models.Delivery.notification_id == notification.id)
                .group_by(models.Delivery.language)
            ).all()
            languages = {str(language): int(count) for language, count in rows}
            if not languages:
                notification.status = NotificationStatus.DONE
            notification_id = notification.id
        if sum(languages.values()) >= ANALYZE_FROM:
            self._refresh_statistics()
        return notification_id, languages

    def _refresh_statistics(self) -> None:
        """Let PostgreSQL's planner see the deliveries just queued (autovacuum would only in a minute or so):
        with the statistics of before, it plans every batch's claim as a scan of the whole audience."""
        with self._sessions.begin() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text(f"ANALYZE {models.Delivery.__tablename__}"))

    def due(self, now: datetime, limit: int, skip_routes: Collection[str] = ()) -> list[DueDelivery]:
        """Queued deliveries whose time has come, oldest first (but those of ``skip_routes``: sent in bulk)."""
        language = func.coalesce(models.ConversationState.language, self._default_language)
        with self._sessions() as session:
            rows = session.execute(
                select(models.Delivery.id, models.Delivery.notification_id, models.Notification.kind,
                       models.Notification.content, models.Delivery.conversation_id, models.Conversation.channel,
                       models.Delivery.route, models.Conversation.active, language, models.Delivery.attempts)
                .join(models.Notification, models.Notification.id == models.Delivery.notification_id)
                .join(models.Conversation, models.Conversation.id == models.Delivery.conversation_id)
                .outerjoin(models.ConversationState,
                           models.ConversationState.conversation_id == models.Delivery.conversation_id)
                .where(models.Delivery.status == DeliveryStatus.QUEUED, models.Delivery.next_attempt_at <= now,
                       models.Delivery.route.not_in(tuple(skip_routes)))
                .order_by(models.Delivery.id).limit(limit)
            ).all()
        return [DueDelivery(row[0], row[1], NotificationKind(row[2]), dict(row[3] or {}), row[4], row[5], row[6],
                            bool(row[7]), str(row[8]), row[9]) for row in rows]

    def postpone(self, notification_id: int, until: datetime) -> None:
        """Hold the notification's queued deliveries back until ``until`` (quiet hours)."""
        with self._sessions.begin() as session:
            session.execute(
                update(models.Delivery)
                .where(models.Delivery.notification_id == notification_id,
                       models.Delivery.status == DeliveryStatus.QUEUED, models.Delivery.next_attempt_at < until)
                .values(next_attempt_at=until, updated_at=datetime.now(UTC))
            )

    def skip(self, delivery: DueDelivery, reason: str) -> bool:
        """Settle a delivery without sending it (e.g. ``unfollowed``); False when it was settled meanwhile."""
        with self._sessions.begin() as session:
            return self._settle(session, delivery, DeliveryStatus.SKIPPED, reason=reason)

    def complete(self, delivery: DueDelivery, reply: Reply, language: str, extra: dict[str, Any]) -> bool:
        """Mark the delivery sent and write its one out-of-turn message, in one transaction.

        False (and nothing written) when another server settled it first.
        """
        with self._sessions.begin() as session:
            if not self._settle(session, delivery, DeliveryStatus.SENT, language=language):
                return False
            message_id = self._messages.add_out_of_turn(
                OutOfTurnMessage(delivery.conversation_id, Role.SYSTEM, reply, language, extra=extra), session=session)
            session.execute(update(models.Delivery).where(models.Delivery.id == delivery.id)
                            .values(message_id=message_id))
            return True

    def retry_or_fail(self, delivery: DueDelivery, reason: str, retry_at: datetime | None) -> None:
        """Count a failed attempt: queued again at ``retry_at``, or failed for good (None: a dead letter)."""
        with self._sessions.begin() as session:
            session.execute(update(models.Delivery).where(
                models.Delivery.id == delivery.id, models.Delivery.status == DeliveryStatus.QUEUED,
                models.Delivery.attempts == delivery.attempts).values(**failed_attempt(delivery.attempts, reason,
                                                                                        retry_at)))

    def refresh(self, notification_ids: Iterable[int]) -> None:
        """Store the overall status of these notifications (queued, sending or done)."""
        with self._sessions.begin() as session:
            for notification_id in set(notification_ids):
                status = overall_status(self._counts(session, notification_id))
                session.execute(update(models.Notification).where(models.Notification.id == notification_id)
                                .values(status=status))

    def report(self, notification_id: int) -> NotificationReport | None:
        """Counts by delivery status and the dead letters of a notification; None for an unknown id."""
        with self._sessions() as session:
            notification = session.get(models.Notification, notification_id)
            if notification is None:
                return None
            counts = self._counts(session, notification_id)
            dead = session.execute(
                select(models.Delivery.conversation_id, models.Delivery.route, models.Delivery.reason,
                       models.Delivery.attempts)
                .join(models.Conversation, models.Conversation.id == models.Delivery.conversation_id)
                .where(models.Delivery.notification_id == notification_id,
                       models.Delivery.status == DeliveryStatus.FAILED)
                .order_by(models.Delivery.id).limit(DEAD_LETTERS_SHOWN)
            ).all()
            return NotificationReport(
                notification.id, notification.bot, NotificationKind(notification.kind), overall_status(counts),
                counts, tuple(DeadLetter(row[0], row[1], row[2], row[3]) for row in dead),
            )

    def _routes(self, audience: Audience) -> CompoundSelect[str, str, str]:
        """Every delivery ``audience`` gets: conversation id, route and language.

        A matching resident is reached in their conversation (route: its channel) and on each other
        route they confirmed and did not unsubscribe from (``contacts``: e-mail); ``audience.channels``
        keeps only the routes it names.
        """
        recipients = self._recipients(audience).subquery()
        own = select(recipients.c.conversation_id, recipients.c.channel.label("route"), recipients.c.language)
        contact = models.Contact
        extra = (select(recipients.c.conversation_id, contact.route.label("route"), recipients.c.language)
                 .join(contact, contact.conversation_id == recipients.c.conversation_id)
                 .where(contact.confirmed_at.is_not(None), contact.unsubscribed_at.is_(None)))
        if audience.channels:
            own = own.where(recipients.c.channel.in_(audience.channels))
            extra = extra.where(contact.route.in_(audience.channels))
        return union_all(own, extra)

    def _recipients(self, audience: Audience) -> Select[str, str, str]:
        """Active conversations of ``audience.bot`` matching every filter but channels: id, channel and language."""
        language = func.coalesce(models.ConversationState.language, self._default_language)
        query = (
            select(models.Conversation.id.label("conversation_id"), models.Conversation.channel.label("channel"),
                   language.label("language"))
            .outerjoin(models.ConversationState, models.ConversationState.conversation_id == models.Conversation.id)
            .where(models.Conversation.bot == audience.bot, models.Conversation.active.is_(True))
        )
        if audience.languages:
            query = query.where(language.in_(audience.languages))
        if audience.districts:
            query = query.where(models.ConversationState.district.in_(audience.districts))
        if audience.conversation_ids:
            query = query.where(models.Conversation.id.in_(audience.conversation_ids))
        return query

    @staticmethod
    def _settle(session: Session, delivery: DueDelivery, status: DeliveryStatus, *, reason: str | None = None,
                language: str | None = None) -> bool:
        values: dict[str, Any] = {"status": status, "attempts": delivery.attempts + 1, "reason": reason,
                                  "updated_at": datetime.now(UTC)}
        if language is not None:
            values["language"] = language
        settled = session.execute(update(models.Delivery).where(
            models.Delivery.id == delivery.id, models.Delivery.status == DeliveryStatus.QUEUED).values(**values))
        return bool(settled.rowcount == 1)  # type: ignore[attr-defined]

    @staticmethod
    def _counts(session: Session, notification_id: int) -> dict[DeliveryStatus, int]:
        rows = session.execute(
            select(models.Delivery.status, func.count()).where(models.Delivery.notification_id == notification_id)
            .group_by(models.Delivery.status)
        ).all()
        return {DeliveryStatus(status): int(count) for status, count in rows}

