"""Pushing messages written outside a reply (staff, interpreters, notices) to LINE users.

Failures are sorted for the core's outbox: LINE down (5xx), slow (a timeout), unreachable or asking
to slow down (429) raise :class:`~bot.channels.TryLater` (with LINE's ``Retry-After`` when it sends
one); anything else LINE refuses (4xx) is permanent and ``send`` returns False. Every call carries
a retry key derived from the stored message's id, so a push retried after a lost answer or a killed
process is sent once: LINE answers 409 to a key it accepted already.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from linebot.v3.messaging.exceptions import ApiException

from bot.channels import Address, TryLater
from bot.types import BulkBatch, BulkRefused, Reply
from connectors.catalogs import CatalogSource, catalog_source
from connectors.line.messenger import (
    CALL_ERRORS,
    MESSAGES_PER_CALL,
    LineMessenger,
    PushAlreadyAccepted,
    error_body,
)
from connectors.line.rate_limit import PushRateLimiter
from connectors.line.render import render_replies
from connectors.line.settings import LineSettings

log = logging.getLogger(__name__)

#: Namespace of the retry keys of pushed messages (one per stored message: a retried push sends once).
_PUSH_NAMESPACE = uuid.UUID("0b8e7c52-3d8f-4f0e-9a4e-2f6d1c9a7b31")
#: LINE's "too many requests" status.
_TOO_MANY_REQUESTS = 429


def push_retry_key(message_key: str, index: int = 0) -> str:
    """The X-Line-Retry-Key of the call that pushes messages ``index``… of the stored message ``message_key``."""
    return str(uuid.uuid5(_PUSH_NAMESPACE, f"{message_key}:{index}"))


def retry_after_seconds(error: ApiException, now: datetime | None = None) -> float | None:
    """LINE's ``Retry-After`` (seconds, or an HTTP date) of a refused call, or None."""
    headers: Any = getattr(error, "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    if not value:
        return None
    value = str(value).strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


def is_transient(error: ApiException) -> bool:
    """Whether a call LINE refused may succeed later: 5xx, 429 (but not the monthly quota), or no status."""
    status = getattr(error, "status", None)
    if status == _TOO_MANY_REQUESTS:
        return "monthly limit" not in error_body(error).lower()  # the month's messages are used up
    return status is None or status >= 500


class LinePusher:
    """Sends one stored message to a LINE user (``send`` of the LINE channel, driven by the core's outbox)."""

    channel = "line"

    def __init__(self, settings: LineSettings, catalog: CatalogSource | None = None,
                 limiter: PushRateLimiter | None = None) -> None:
        """``catalog()`` gives the texts of the rendered messages (called per message); ``limiter``, when
        given, holds every push call to the rate shared by all processes."""
        self._settings = settings
        self._catalog = catalog_source(catalog)
        self._limiter = limiter

    async def send(self, address: Address, reply: Reply, language: str) -> bool:
        """Push one stored message; False when the bot has no LINE channel or LINE refused it for good.

        ``address.key`` (the stored message's id) makes the retry keys: a retried push is sent once.
        Raises :class:`TryLater` when LINE is down, slow, unreachable or rate limiting (or the shared
        rate limit has no room within its wait).
        """
        channel = self._settings.channel(address.bot)
        if channel is None:
            return False
        messages = render_replies((reply,), self._catalog(), language)
        try:
            async with LineMessenger(self._settings, channel) as line:
                for index in range(0, len(messages), MESSAGES_PER_CALL):
                    if self._limiter is not None:
                        await self._limiter.acquire(address.bot)
                    try:
                        await line.push(address.sender, messages[index:index + MESSAGES_PER_CALL],
                                        push_retry_key(address.key, index))
                    except PushAlreadyAccepted:
                        log.info("LINE push of message %s was already accepted", address.key)
        except ApiException as error:
            status = getattr(error, "status", None)
            if is_transient(error):
                log.warning("LINE push of message %s failed for now: %s", address.key, status)
                raise TryLater(f"line {status}", retry_after_seconds(error)) from None
            log.error("LINE push of message %s refused: %s", address.key, status)
            return False
        except CALL_ERRORS as error:  # timeouts, connection errors
            log.warning("LINE push of message %s failed for now: %s", address.key, type(error).__name__)
            raise TryLater(f"line unreachable: {type(error).__name__}") from None
        return True

    async def multicast(self, batch: BulkBatch, limiter: PushRateLimiter | None = None) -> None:
        """Send one notice to up to 500 users of ``batch.bot``'s channel; ``batch.key`` makes the retry keys.

        Raises :class:`TryLater` as :meth:`send` does, and :class:`BulkRefused` when the bot has no LINE
        channel or LINE refuses the call for good. ``limiter`` paces the calls (LINE limits multicast apart).
        """
        channel = self._settings.channel(batch.bot)
        if channel is None:
            raise BulkRefused("no LINE channel")
        messages = render_replies((batch.reply,), self._catalog(), batch.language)
        try:
            async with LineMessenger(self._settings, channel) as line:
                for index in range(0, len(messages), MESSAGES_PER_CALL):
                    if limiter is not None:
                        await limiter.acquire(batch.bot)
                    try:
                        await line.multicast(batch.recipients, messages[index:index + MESSAGES_PER_CALL],
                                             push_retry_key(f"batch:{batch.key}", index))
                    except PushAlreadyAccepted:
                        log.info("LINE multicast of batch %s was already accepted", batch.key)
        except ApiException as error:
            status = getattr(error, "status", None)
            if is_transient(error):
                log.warning("LINE multicast of batch %s failed for now: %s", batch.key, status)
                raise TryLater(f"line {status}", retry_after_seconds(error)) from None
            log.error("LINE multicast of batch %s refused: %s", batch.key, status)
            raise BulkRefused(f"line {status}") from None
        except CALL_ERRORS as error:  # timeouts, connection errors
            log.warning("LINE multicast of batch %s failed for now: %s", batch.key, type(error).__name__)
            raise TryLater(f"line unreachable: {type(error).__name__}") from None

    async def push(self, bot: str, sender: str, message_id: int, reply: Reply, language: str) -> bool:
        """:meth:`send` to ``sender`` of ``bot``, keyed by the stored message's id."""
        return await self.send(Address(bot, sender, key=str(message_id)), reply, language)
