"""How a due notice reaches the subscriber: through the core's notification service, never directly.

:class:`ConversationNotices` sends each notice to the one conversation that subscribed, as a
``queue`` notification (it does not wait for quiet hours), rendered from the catalog in the
resident's language. :class:`NoticeDispatcher` routes notices by :class:`NoticeRoute` and marks each
handed over, so a notice goes out once; a failed send is released and tried again by the next drain.

**E-mail hook.** A subscription's ``route`` may be ``email``; no route is registered for it yet.
When the core's e-mail delivery exists, register a :class:`QueueNotifier` for ``NoticeRoute.EMAIL``
(sending to the address the resident consented to, kept by the core, never in the queue tables) and
let the form offer it; nothing else here changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from bot.enums import NotificationKind
from bot.notifications import Audience, InvalidNotification, NotificationContent, NotificationService
from services.queue.store import QueueStore
from services.queue.types import DueNotice, NoticeRoute, NoticeStage

log = logging.getLogger(__name__)
#: Who sent a queue notification (the notification's ``created_by``).
SENDER = "queue"


class QueueNotifier(Protocol):
    """Delivers notices of one route."""

    def notify(self, notice: DueNotice) -> int | None:
        """Hand ``notice`` over for delivery; returns the notification's id (None: nobody to send to)."""
        ...


def notice_content(notice: DueNotice) -> NotificationContent:
    """The catalog text of a notice with its parameters."""
    if notice.stage is NoticeStage.NEAR:
        return NotificationContent.catalog("queue.notice.near", ticket=notice.ticket, office=notice.office_name,
                                           ahead=notice.ahead or 0)
    if notice.counter:
        return NotificationContent.catalog("queue.notice.called", ticket=notice.ticket, office=notice.office_name,
                                           counter=notice.counter)
    return NotificationContent.catalog("queue.notice.called_window", ticket=notice.ticket, office=notice.office_name)


class ConversationNotices:
    """Notices to the subscriber's conversation (LINE, the widget, the kiosk) through :class:`NotificationService`."""

    def __init__(self, service: NotificationService) -> None:
        self._service = service

    def notify(self, notice: DueNotice) -> int | None:
        """Send to the one conversation; a resident who unfollowed is skipped by the service."""
        audience = Audience(notice.bot, conversation_ids=(notice.conversation_id,))
        receipt = self._service.send(NotificationKind.QUEUE, audience, notice_content(notice), SENDER)
        return receipt.id


class NoticeDispatcher:
    """Hands due notices to the notifier of their route and records them as handed over."""

    def __init__(self, store: QueueStore, routes: Mapping[NoticeRoute, QueueNotifier],
                 now: Callable[[], datetime]) -> None:
        self._store = store
        self._routes = dict(routes)
        self._now = now

    def send(self, notices: Sequence[DueNotice]) -> int:
        """Send each claimed notice; returns how many were handed over (failures are released for a retry)."""
        sent = 0
        for notice in notices:
            notifier = self._routes.get(notice.route)
            if notifier is None:  # e.g. e-mail before the core delivers e-mail: dropped, not retried forever
                log.warning("queue notice %s: no notifier for route %s", notice.id, notice.route)
                self._store.mark_sent(notice.id, None, self._now())
                continue
            try:
                notification_id = notifier.notify(notice)
            except InvalidNotification as refused:  # e.g. the bot is gone: retrying will not help
                log.warning("queue notice %s refused: %s", notice.id, refused.code)
                self._store.mark_sent(notice.id, None, self._now())
                continue
            except Exception as error:  # the database restarts, say: the next drain tries again
                log.warning("queue notice %s not sent yet: %s", notice.id, type(error).__name__)
                self._store.release(notice.id)
                continue
            self._store.mark_sent(notice.id, notification_id, self._now())
            sent += 1
        return sent

    def drain(self, limit: int = 100) -> int:
        """Send notices whose sender died before handing them over (their claim ran out)."""
        return self.send(self._store.claim_pending(self._now(), limit))
