"""Delivering queued notifications: one by one into conversations, in batches through bulk senders.

:class:`NotificationDelivery` runs one *round* (:meth:`~NotificationDelivery.run_once`):

* deliveries to channels registered as :class:`~bot.protocols.BulkSender` (LINE: multicast to 500
  residents per call) are claimed in batches (:class:`~bot.notifications.batches.BatchStore`),
  rendered once per notification and language, sent with the batch id as the retry key, and
  finished in one transaction; several batches are in flight at once, and the channel's shared
  rate limit paces them;
* every other delivery (web widget, kiosk) becomes an out-of-turn message in its conversation
  (:meth:`NotificationService.deliver_due`), which the client fetches live.

Who runs rounds: the server's own loop in embedded mode (woken by :meth:`wake` when a notification
is queued), else ``deliver_notifications`` tasks on the workers (:mod:`bot.tasks`), enqueued when a
notification is queued and periodically. A round stops after ``budget_seconds`` and says whether
work is left, so a large broadcast continues in the next task (on any worker) rather than holding one.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.channels import TryLater
from bot.notifications.batches import BatchStore, ClaimedBatch
from bot.notifications.render import NoticeRenderer, RenderedNotice
from bot.notifications.service import UNFOLLOWED, NotificationService
from bot.notifications.settings import NotificationSettings
from bot.notifications.types import NotificationContent
from bot.protocols import BulkSender
from bot.types import BulkBatch, BulkRefused
from translations.catalog import Catalog
from translations.pipeline import TranslationPipeline

log = logging.getLogger(__name__)

#: Deliveries into conversations handled per round.
CONVERSATION_BATCH = 500
#: How long a claimed batch is held before another worker may take it over: longer than it may wait for
#: its turn (``PACE_SECONDS``) plus a call's timeout, and short, because it is also how long the batches
#: of a killed worker wait before they go out.
CLAIM_SECONDS = 45.0
#: How long a claimed batch waits for its turn when the rate limit (ours, or the platform's 429 with
#: ``Retry-After``) says when to come back. Being paced is not a failed attempt: past this wait the batch
#: is handed back unsent (so more claimants than the rate needs drop out) and no attempt is counted.
PACE_SECONDS = 20.0
#: Batches one process has in flight per bulk route.
PARALLEL_BATCHES = 4
#: A round's time budget: a broadcast larger than this continues in the next round.
ROUND_SECONDS = 30.0
#: While its batches go out, a notification's stored status is refreshed at most this often per process (that
#: counts all its deliveries: per batch, it cost as much as the batch itself), and when a drain stops.
REFRESH_SECONDS = 2.0
#: The idle poll of the embedded loop (queued notifications wake it at once; this catches retries).
POLL_SECONDS = 5.0


class NotificationDelivery:
    """Runs delivery rounds (see the module docstring); bulk senders are registered per channel."""

    def __init__(self, service: NotificationService, batches: BatchStore, catalog: Callable[[], Catalog],
                 translator: TranslationPipeline | None, settings: NotificationSettings,
                 now: Callable[[], datetime] | None = None) -> None:
        self._service = service
        self._batches = batches
        self._catalog = catalog
        self._translator = translator
        self._settings = settings
        self._now = now or (lambda: datetime.now(UTC))
        self._senders: dict[str, BulkSender] = {}
        self._wake = threading.Event()
        self._round = threading.Lock()
        self._refreshed: dict[int, float] = {}  # notification id -> when its status was last stored (monotonic)

    def register(self, sender: BulkSender) -> None:
        """Send the deliveries of ``sender.name``'s conversations in batches through ``sender``."""
        self._senders[sender.name] = sender

    @property
    def bulk_routes(self) -> tuple[str, ...]:
        """The channels whose deliveries go out in batches."""
        return tuple(self._senders)

    def wake(self) -> None:
        """Start a round soon (a notification was queued); safe from any thread."""
        self._wake.set()

    async def run_once(self, budget_seconds: float = ROUND_SECONDS) -> bool:
        """One round; True when due work is left (the budget ran out before everything was sent).

        One round at a time per process: a round asked for while another runs (a worker's other threads)
        returns False at once, and the running one asks for the next while work is left. Rounds side by
        side only crowded the database pool and the rate limit with batches claimed ahead of their turn.
        """
        if not self._round.acquire(blocking=False):
            return False
        try:
            return await self._round_once(budget_seconds)
        finally:
            self._round.release()

    async def _round_once(self, budget_seconds: float) -> bool:
        deadline = time.monotonic() + budget_seconds
        delivered = await asyncio.to_thread(self._service.deliver_due, CONVERSATION_BATCH, self.bulk_routes)
        renderer = NoticeRenderer(self._catalog(), self._translator, self._settings)
        more = delivered >= CONVERSATION_BATCH
        for sender in list(self._senders.values()):
            touched = await asyncio.to_thread(self._batches.skip_unfollowed, sender.name, UNFOLLOWED)
            if touched:
                await asyncio.to_thread(self._service.refresh, touched)
            drained = await asyncio.gather(*(self._drain(sender, renderer, deadline)
                                             for _ in range(PARALLEL_BATCHES)))
            more = more or not all(drained)
        return more

    async def run_forever(self) -> None:
        """Rounds until cancelled: after every wake-up, every ``POLL_SECONDS``, and at once while work is left."""
        while True:
            try:
                more = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database restarts, say: the next round tries again
                log.warning("notification delivery round failed: %s", type(error).__name__)
                more = False
            if not more:
                await asyncio.to_thread(self._wake.wait, POLL_SECONDS)
            self._wake.clear()

    async def _drain(self, sender: BulkSender, renderer: NoticeRenderer, deadline: float) -> bool:
        """Claim and send batches until none is due (True) or the budget is spent (False)."""
        touched: set[int] = set()
        try:
            while time.monotonic() < deadline:
                batch = await asyncio.to_thread(self._claim, sender)
                if batch is None:
                    return True
                touched.add(batch.notification_id)
                if not await self._send(sender, renderer, batch):
                    return False  # no turn within PACE_SECONDS: more claimants than the rate needs; this one stops
            return False
        finally:
            if touched:
                await asyncio.to_thread(self._service.refresh, touched)

    def _claim(self, sender: BulkSender) -> ClaimedBatch | None:
        now = self._clock()
        until = now + timedelta(seconds=CLAIM_SECONDS)
        batch = self._batches.reclaim(sender.name, now, until)
        while batch is None:
            candidate = self._batches.candidate(sender.name, now)
            if candidate is None:
                return None
            quiet_until = self._service.quiet_until(candidate.kind, now)
            if quiet_until is not None:
                self._service.postpone(candidate.notification_id, quiet_until)
                continue
            batch = self._batches.claim(sender.name, candidate, sender.max_recipients, now, until)
        return batch

    async def _send(self, sender: BulkSender, renderer: NoticeRenderer, batch: ClaimedBatch) -> bool:
        """Send one claimed batch and settle it; False when it got no turn and was handed back unsent."""
        try:
            notice = await asyncio.to_thread(self._render, renderer, batch)
            if not await self._paced(sender, BulkBatch(batch.bot, batch.key, batch.senders, notice.reply,
                                                       batch.language, batch.conversation_ids)):
                await asyncio.to_thread(self._batches.release, batch, self._clock())
                return False
            extra = {**notice.extra, "notification_id": batch.notification_id, "notification_kind": batch.kind.value}
            await asyncio.to_thread(self._batches.finish, batch, notice.reply, extra)
        except BulkRefused as refused:
            log.error("batch of notification %s refused by %s: %s", batch.notification_id, sender.name,
                      refused.reason)
            await asyncio.to_thread(self._batches.retry_or_fail, batch, refused.reason, None)
        except TryLater as later:
            await asyncio.to_thread(self._retry, batch, later.reason, later.retry_after)
        except Exception as error:  # a database hiccup, a broken model: the same batch again later
            log.warning("batch of notification %s failed: %s", batch.notification_id, type(error).__name__)
            await asyncio.to_thread(self._retry, batch, type(error).__name__, None)
        await self._refresh(batch.notification_id)
        return True

    async def _refresh(self, notification_id: int) -> None:
        """Store the notification's overall status, unless this process did less than ``REFRESH_SECONDS`` ago."""
        now = time.monotonic()
        if now - self._refreshed.get(notification_id, -REFRESH_SECONDS) < REFRESH_SECONDS:
            return
        self._refreshed[notification_id] = now
        await asyncio.to_thread(self._service.refresh, {notification_id})

    @staticmethod
    async def _paced(sender: BulkSender, batch: BulkBatch) -> bool:
        """``send_many``, waiting up to ``PACE_SECONDS`` for a turn whenever a rate limit says when to come back
        (``TryLater`` with ``retry_after``); False when no turn came in time. Other failures are raised."""
        until = time.monotonic() + PACE_SECONDS
        while True:
            try:
                await sender.send_many(batch)
                return True
            except TryLater as later:
                if later.retry_after is None:
                    raise
                if time.monotonic() + later.retry_after > until:
                    return False
                await asyncio.sleep(later.retry_after)

    def _render(self, renderer: NoticeRenderer, batch: ClaimedBatch) -> RenderedNotice:
        content = NotificationContent.from_json(batch.content)
        return renderer.render(content, batch.language, cache_key=str(batch.notification_id))

    def _retry(self, batch: ClaimedBatch, reason: str, retry_after: float | None) -> None:
        attempts = batch.attempts + 1
        if attempts >= self._settings.max_attempts:
            log.warning("batch of notification %s given up after %s attempts: %s", batch.notification_id,
                        attempts, reason)
            self._batches.retry_or_fail(batch, reason, None)
            return
        wait = self._settings.backoff(attempts)
        if retry_after is not None:
            wait = max(wait, timedelta(seconds=retry_after))
        self._batches.retry_or_fail(batch, reason, self._clock() + wait)

    def _clock(self) -> datetime:
        moment = self._now()
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
