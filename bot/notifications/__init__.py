"""Notifications: one service that sends a message to an audience, rendered for each recipient.

- **Content** (:class:`NotificationContent`): a catalog key with parameters, or curated texts per
  language. Each recipient reads it in their conversation's current language: the curated text,
  else the translation memory or an installed MT model (marked ``machine_translated``, with the
  ``original``; ``notifications.machine_translation``), else the text in
  ``notifications.fallback_language`` introduced by ``notification.other_language``.
- **Audience** (:class:`Audience`): the active followers of a bot (residents who unfollowed are
  never included), narrowed by channels, languages, districts (the district a resident named,
  e.g. for garbage days; names from the city profile) or particular conversations.
- **Deliveries**: one row per recipient and route (unique per notification, conversation and route:
  nobody is notified twice), ``queued`` → (``sending``) → ``sent`` | ``skipped`` (with a reason,
  e.g. ``unfollowed``) | ``failed``. A failing delivery is retried with exponential backoff
  (``notifications.retry_seconds`` doubling) and after ``notifications.max_attempts`` stays
  ``failed``: the dead letters :meth:`NotificationService.status` lists for admins.
- **Exactly once**: into a conversation (widget, kiosk), a delivery's out-of-turn message is written
  (through ``MessageLog``) in the transaction that marks it sent, and the client fetches it live.
  Channels that send in bulk (LINE multicast, :class:`bot.protocols.BulkSender`) get batches of up
  to 500 that keep their recipients and retry key across retries and crashed workers
  (:mod:`bot.notifications.batches`, :mod:`bot.notifications.delivery`).
- **Quiet hours** (``notifications.quiet_hours: {start: "21:00", end: "08:00"}``, local time of the
  city profile's ``staff_desk.timezone``, else Asia/Tokyo): notices and reminders queued or due
  then wait until the end; disaster alerts never wait.
- **Broadcasts API** (``connectors/admin``): ``POST /api/v1/admin/broadcasts`` and
  ``GET /api/v1/admin/broadcasts/{id}`` through :class:`BroadcastDesk` (``bot.protocols.Broadcasts``).
"""

from __future__ import annotations

from bot.enums import DeliveryStatus, NotificationKind, NotificationStatus
from bot.notifications.batches import BatchStore
from bot.notifications.broadcasts import BroadcastDesk
from bot.notifications.delivery import NotificationDelivery
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
    "BatchStore",
    "BroadcastDesk",
    "DeadLetter",
    "DeliveryStatus",
    "InvalidNotification",
    "NotificationContent",
    "NotificationDelivery",
    "NotificationKind",
    "NotificationReceipt",
    "NotificationReport",
    "NotificationService",
    "NotificationSettings",
    "NotificationStatus",
    "NotificationStore",
    "QuietHours",
]
