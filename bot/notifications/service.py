"""The notification service: one way to send a message to an audience, rendered per recipient.

:meth:`NotificationService.send` checks the request, resolves the audience in SQL and queues one
delivery per recipient; :meth:`NotificationService.deliver_due` (run by the app's housekeeping loop)
renders each due delivery in the recipient's current language and writes one out-of-turn message
per delivery in the transaction that marks it sent. Channels that push (LINE) take it from there
through the outbox; the widget and the kiosk fetch it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime

from bot.enums import NotificationKind
from bot.notifications.render import NoticeRenderer, missing_languages
from bot.notifications.settings import NotificationSettings
from bot.notifications.store import DueDelivery, NotificationStore
from bot.notifications.types import (
    Audience,
    InvalidNotification,
    NotificationContent,
    NotificationReceipt,
    NotificationReport,
)
from translations.catalog import Catalog, parameters
from translations.pipeline import TranslationPipeline

log = logging.getLogger(__name__)

#: The longest text of one language (a LINE text message holds 5000 characters).
MAX_TEXT_CHARS = 5000
#: Why a queued delivery was not sent: the resident unfollowed after it was queued.
UNFOLLOWED = "unfollowed"
#: Why a queued delivery was not sent: nothing sends on its route in this deployment (e.g. no SMTP server).
NO_SENDER = "no sender for this route"


class NotificationService:
    """Send, deliver and follow notifications (see the module docstring)."""

    def __init__(self, store: NotificationStore, catalog: Callable[[], Catalog],
                 translator: TranslationPipeline | None, settings: NotificationSettings,
                 now: Callable[[], datetime] | None = None, on_queued: Callable[[], None] | None = None) -> None:
        """``catalog()`` is the catalog of the latest reload; ``now`` replaces the clock (quiet hours) in tests;
        ``on_queued`` is called after a notification was stored (it starts a delivery round)."""
        self._store = store
        self._on_queued = on_queued
        self._catalog = catalog
        self._translator = translator
        self._settings = settings
        self._now = now or (lambda: datetime.now(UTC))

    def preview(self, audience: Audience, content: NotificationContent) -> NotificationReceipt:
        """What :meth:`send` would queue (recipients, languages without text of their own); nothing is stored."""
        self._check(audience, content)
        languages = self._store.recipient_languages(audience)
        return NotificationReceipt(None, sum(languages.values()), self._missing(content, set(languages)))

    def send(self, kind: NotificationKind, audience: Audience, content: NotificationContent,
             created_by: str) -> NotificationReceipt:
        """Queue ``content`` for every recipient of ``audience``; raises :class:`InvalidNotification` (422).

        Recipients are the active followers matching the filter at this moment (residents who
        unfollowed are not included). Notices queued during quiet hours wait until they end.
        """
        self._check(audience, content)
        now = self._clock()
        notification_id, languages = self._store.create(audience, NotificationKind(kind), content.to_json(),
                                                        created_by, self._not_before(NotificationKind(kind), now))
        receipt = NotificationReceipt(notification_id, sum(languages.values()),
                                      self._missing(content, set(languages)))
        log.info("notification %s queued for %s recipients", notification_id, receipt.recipients)
        if receipt.recipients and self._on_queued is not None:
            self._on_queued()
        return receipt

    def deliver_due(self, limit: int = 500, skip_routes: Collection[str] = ()) -> int:
        """Deliver up to ``limit`` due deliveries into their conversations; returns how many were sent.

        Deliveries of ``skip_routes`` are left to :class:`bot.notifications.delivery.NotificationDelivery`,
        which sends them in batches.

        A delivery whose rendering or writing fails is retried with exponential backoff and, after
        ``max_attempts``, left as failed (a dead letter the status report lists).
        """
        now = self._clock()
        renderer = NoticeRenderer(self._catalog(), self._translator, self._settings)
        sent, touched, postponed = 0, set(), set()
        for delivery in self._store.due(now, limit, skip_routes):
            if delivery.notification_id in postponed:
                continue
            quiet_until = self.quiet_until(delivery.kind, now)
            if quiet_until is not None:
                self.postpone(delivery.notification_id, quiet_until)
                postponed.add(delivery.notification_id)
                continue
            touched.add(delivery.notification_id)
            if not delivery.active:
                self._store.skip(delivery, UNFOLLOWED)
                continue
            if delivery.route != delivery.channel:  # another route (e-mail) whose sender is not registered here
                self._store.skip(delivery, NO_SENDER)
                continue
            sent += self._deliver(renderer, delivery, now)
        if touched:
            self._store.refresh(touched)
        return sent

    def quiet_until(self, kind: NotificationKind, now: datetime) -> datetime | None:
        """When the quiet hours ``now`` falls in end, for a notification of ``kind``; None: send now."""
        quiet = self._settings.quiet_hours
        if quiet is None or not kind.waits_for_quiet_hours:
            return None
        return quiet.until(now)

    def postpone(self, notification_id: int, until: datetime) -> None:
        """Hold the notification's queued deliveries back until ``until`` (quiet hours)."""
        self._store.postpone(notification_id, until)

    def refresh(self, notification_ids: Iterable[int]) -> None:
        """Store the overall status (queued, sending, done) of these notifications."""
        self._store.refresh(notification_ids)

    def status(self, notification_id: int) -> NotificationReport | None:
        """Counts of the notification's deliveries by status, and its dead letters; None when unknown."""
        return self._store.report(notification_id)

    def _deliver(self, renderer: NoticeRenderer, delivery: DueDelivery, now: datetime) -> bool:
        try:
            content = NotificationContent.from_json(delivery.content)
            notice = renderer.render(content, delivery.language, cache_key=str(delivery.notification_id))
            extra = {**notice.extra, "notification_id": delivery.notification_id,
                     "notification_kind": delivery.kind.value}
            return self._store.complete(delivery, notice.reply, delivery.language, extra)
        except Exception as error:  # retried: a database hiccup, a broken model, a catalog reloaded meanwhile
            attempts = delivery.attempts + 1
            retry_at = None if attempts >= self._settings.max_attempts else now + self._settings.backoff(attempts)
            log.warning("delivery %s failed (attempt %s): %s", delivery.id, attempts, type(error).__name__)
            self._store.retry_or_fail(delivery, type(error).__name__, retry_at)
            return False

    def _check(self, audience: Audience, content: NotificationContent) -> None:
        settings = self._settings
        if audience.bot not in settings.bots:
            raise InvalidNotification("unknown_bot", f"unknown bot {audience.bot!r}; use one of "
                                                     f"{', '.join(settings.bots)}")
        unknown = [district for district in audience.districts if district not in settings.districts]
        if unknown:
            raise InvalidNotification("invalid_audience", f"audience.districts: unknown district {unknown[0]!r}; "
                                                          f"use one of {', '.join(settings.districts)}")
        unknown = [code for code in audience.languages if code not in settings.languages]
        if unknown:
            raise InvalidNotification("unsupported_language", f"audience.languages: unsupported language "
                                                              f"{unknown[0]!r}; use one of "
                                                              f"{', '.join(settings.languages)}")
        if (content.key is None) == (not content.texts):
            raise InvalidNotification("invalid_message", "message: give a catalog key or texts per language")
        if content.key is not None:
            self._check_key(content)
            return
        unknown = [code for code in content.texts if code not in settings.languages]
        if unknown:
            raise InvalidNotification("unsupported_language", f"message: unsupported language {unknown[0]!r}; "
                                                              f"use one of {', '.join(settings.languages)}")
        if not any(text.strip() for text in content.texts.values()):
            raise InvalidNotification("empty_message", "message: every text is empty")
        too_long = [code for code, text in content.texts.items() if len(text) > MAX_TEXT_CHARS]
        if too_long:
            raise InvalidNotification("message_too_long", f"message.{too_long[0]}: at most {MAX_TEXT_CHARS} "
                                                          "characters")

    def _check_key(self, content: NotificationContent) -> None:
        assert content.key is not None
        catalog = self._catalog()
        if not catalog.has(content.key):
            raise InvalidNotification("unknown_catalog_key", f"message.key: no catalog text {content.key!r}")
        wanted = parameters(catalog.raw(content.key, "en") or "")
        missing = sorted(wanted - set(content.params))
        if missing:
            raise InvalidNotification("missing_params", f"message.params: {content.key!r} needs "
                                                        f"{', '.join(missing)}")

    def _missing(self, content: NotificationContent, languages: set[str]) -> tuple[str, ...]:
        catalog = self._catalog()
        return missing_languages(content, languages, lambda key, code: catalog.raw(key, code) is not None)

    def _not_before(self, kind: NotificationKind, now: datetime) -> datetime:
        return self.quiet_until(kind, now) or now

    def _clock(self) -> datetime:
        moment = self._now()
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
