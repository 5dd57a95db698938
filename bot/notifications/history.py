"""Recent broadcasts for the admins' console: newest first, with their delivery counts.

Read-only: two queries (the notifications, then their deliveries counted by status), whatever the
number of recipients. Counts follow :meth:`bot.notifications.NotificationService.status`; ``pending``
is every delivery not settled yet (queued, or claimed by a sender), so it stays right if delivery
gains intermediate states.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.enums import DeliveryStatus, NotificationKind, NotificationStatus
from bot.notifications.types import overall_status
from bot.storage import models

#: The most broadcasts one listing returns.
MAX_RECENT = 100


@dataclass(frozen=True)
class BroadcastSummary:
    """One broadcast as the console lists it: who sent what kind to how many, and how far it got.

    ``content``: the catalog key, or the languages written (never the texts themselves).
    """

    id: int
    bot: str
    kind: NotificationKind
    status: NotificationStatus
    created_at: datetime
    created_by: str
    catalog_key: str | None
    languages: tuple[str, ...]
    counts: Mapping[DeliveryStatus, int]

    def to_json(self) -> dict[str, Any]:
        """The summary as ``GET /api/v1/admin/broadcasts`` returns it."""
        total = sum(self.counts.values())
        sent, failed, skipped = (self.counts.get(status, 0) for status in
                                 (DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.SKIPPED))
        return {
            "id": self.id, "bot": self.bot, "kind": self.kind.value, "status": self.status.value,
            "created_at": _aware(self.created_at).isoformat(), "created_by": self.created_by,
            "message": {"key": self.catalog_key} if self.catalog_key else {"languages": list(self.languages)},
            "recipients": total, "sent": sent, "failed": failed, "skipped": skipped,
            "pending": total - sent - failed - skipped,
        }


class NotificationHistory:
    """The ``notifications`` table read for the console's list of recent broadcasts."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def recent(self, limit: int = 20, bot: str | None = None) -> list[BroadcastSummary]:
        """Up to ``limit`` (at most :data:`MAX_RECENT`) notifications, newest first; only ``bot``'s when given."""
        query = select(models.Notification).order_by(models.Notification.id.desc())
        if bot is not None:
            query = query.where(models.Notification.bot == bot)
        with self._sessions() as session:
            notifications = list(session.scalars(query.limit(max(1, min(limit, MAX_RECENT)))))
            counts = self._counts(session, [notification.id for notification in notifications])
            return [_summary(notification, counts.get(notification.id, {})) for notification in notifications]

    @staticmethod
    def _counts(session: Session, ids: list[int]) -> dict[int, dict[DeliveryStatus, int]]:
        if not ids:
            return {}
        rows = session.execute(
            select(models.Delivery.notification_id, models.Delivery.status, func.count())
            .where(models.Delivery.notification_id.in_(ids))
            .group_by(models.Delivery.notification_id, models.Delivery.status)
        ).all()
        counts: dict[int, dict[DeliveryStatus, int]] = {}
        for notification_id, status, count in rows:
            counts.setdefault(int(notification_id), {})[DeliveryStatus(status)] = int(count)
        return counts


def _summary(notification: models.Notification, counts: dict[DeliveryStatus, int]) -> BroadcastSummary:
    content = notification.content or {}
    key = content.get("key")
    texts = content.get("texts") or {}
    return BroadcastSummary(
        notification.id, notification.bot, NotificationKind(notification.kind), overall_status(counts),
        notification.created_at, notification.created_by, str(key) if key else None,
        tuple(code for code, text in texts.items() if str(text).strip()), counts,
    )


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes: they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
