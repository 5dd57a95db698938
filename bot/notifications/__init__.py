"""Notifications: one service that sends a message to an audience, rendered for each recipient.

- **Content** (:class:`NotificationContent`): a catalog key with parameters, or curated texts per
  language. Each recipient reads it in their conversation's current language: the curated text,
  else the translation memory or an installed MT model (marked ``machine_translated``, with the
  ``original``; ``notifications.machine_translation``), else the text in
  ``notifications.fallback_language`` introduced by ``notification.other_language``.
- **Audience** (:class:`Audience`): the active followers of a bot (residents who unfollowed are
  never included), narrowed by channels, languages or particular conversations. A ``districts``
  filter is refused with 422 ("districts: not available until residents' districts are stored"):
  no district is stored per resident yet, so no filter by district can be honoured.
- **Deliveries**: one row per recipient (unique per notification and conversation: nobody is
  notified twice), ``queued`` → ``sent`` | ``skipped`` (with a reason, e.g. ``unfollowed``) |
  ``failed``. A failing delivery is retried with exponential backoff
  (``notifications.retry_seconds`` doubling) and after ``notifications.max_attempts`` stays
  ``failed``: the dead letters :meth:`NotificationService.status` lists for admins.
- **Exactly once**: a delivery's out-of-turn message is written (through ``MessageLog``) in the
  transaction that marks it sent; the LINE outbox pushes it, the widget and the kiosk fetch it.
- **Quiet hours** (``notifications.quiet_hours: {start: "21:00", end: "08:00"}``, local time of the
  city profile's ``staff_desk.timezone``, else Asia/Tokyo): notices and reminders queued or due
  then wait until the end; disaster alerts never wait.
- **Broadcasts API** (``connectors/admin``): ``POST /api/v1/admin/broadcasts`` and
  ``GET /api/v1/admin/broadcasts/{id}`` through :class:`BroadcastDesk` (``bot.protocols.Broadcasts``).
"""

from __future__ import annotations

from bot.enums import DeliveryStatus, NotificationKind, NotificationStatus
from bot.notifications.broadcasts import BroadcastDesk
from bot.notifications.service import NotificationService
from bot.notifications.settings import NotificationSettings, QuietHours
from bot.notifications.store import NotificationStore
from bot.notifications.types import (
    Audience,
    DeadLetter,
    InvalidNotification,
    NotificationContent,
    NotificationReceipt,
    NotificationReport,
)

__all__ = [
    "Audience",
    "BroadcastDesk",
    "DeadLetter",
    "DeliveryStatus",
    "InvalidNotification",
    "NotificationContent",
    "NotificationKind",
    "NotificationReceipt",
    "NotificationReport",
    "NotificationService",
    "NotificationSettings",
    "NotificationStatus",
    "NotificationStore",
    "QuietHours",
]
