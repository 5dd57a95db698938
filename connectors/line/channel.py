"""The ``line`` channel: one LINE official account per bot (:class:`LineConnector` and :class:`LinePusher`).

The credentials come from the environment (``LINE_<BOT>_CHANNEL_SECRET`` and ``LINE_<BOT>_ACCESS_TOKEN``;
bots without both are not served), the API hosts from ``LINE_API_BASE`` and ``LINE_DATA_API_BASE``.
LINE assigns the sender ids, so messages written outside a reply (staff, effect results, notices) are
pushed through :meth:`LineMessagingChannel.send`, at most ``push_rate_per_second`` per bot across every
process (shared through Redis when ``YORISOI_REDIS_URL`` is set: see :mod:`connectors.line.rate_limit`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from bot.channels import Address, ChannelContext, ChannelKind, channel_settings
from bot.types import BulkBatch, Reply
from connectors.line.delivery import CHANNEL
from connectors.line.messenger import MULTICAST_RECIPIENTS
from connectors.line.push import LinePusher
from connectors.line.rate_limit import (
    DEFAULT_MULTICAST_RATE,
    DEFAULT_PUSH_RATE,
    PushRateLimiter,
    shared_storage_url,
)
from connectors.line.settings import LineSettings
from connectors.line.webhook import LineConnector


class LineChannelSettings(BaseModel):
    """``connectors.line`` (credentials are secrets: they come from the environment)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Pushes per second per bot (LINE channel), all processes together. LINE allows 2,000 requests per
    #: second on the push endpoint; the default keeps half of that as a margin.
    push_rate_per_second: int = Field(default=DEFAULT_PUSH_RATE, ge=1, le=2000)
    #: Multicast calls (up to 500 residents each: notifications) per second per bot, all processes
    #: together. LINE allows 200 requests per second on the multicast endpoint.
    multicast_rate_per_second: int = Field(default=DEFAULT_MULTICAST_RATE, ge=1, le=200)


class LineMessagingChannel:
    """The webhooks ``/line/{bot}/webhook`` and pushes through LINE's Messaging API."""

    name: ClassVar[str] = CHANNEL
    kind: ClassVar[ChannelKind] = ChannelKind.PLATFORM
    #: Notifications reach LINE residents by multicast, 500 per call (``bot.protocols.BulkSender``).
    max_recipients: ClassVar[int] = MULTICAST_RECIPIENTS

    def __init__(self, settings: LineSettings, context: ChannelContext, limiter: PushRateLimiter | None = None,
                 multicast_limiter: PushRateLimiter | None = None) -> None:
        """``limiter`` and ``multicast_limiter``: the push and multicast rates shared by all processes
        (default: LINE's default rates, in this process)."""
        self.settings = settings
        self._context = context
        self.connector = LineConnector(settings, catalog=context.catalog)
        self.limiter = limiter or PushRateLimiter()
        self.multicast_limiter = multicast_limiter or PushRateLimiter(DEFAULT_MULTICAST_RATE, endpoint="line-multicast")
        self._pusher = LinePusher(settings, context.catalog, self.limiter)

    @classmethod
    def from_config(cls, section: Mapping[str, Any], context: ChannelContext) -> LineMessagingChannel:
        """Validate ``connectors.line``; read the bots' credentials and the shared Redis from the environment."""
        options = channel_settings(LineChannelSettings, cls.name, section)
        redis_url = shared_storage_url(context.environ)
        limiter = PushRateLimiter(options.push_rate_per_second, redis_url=redis_url)
        multicast = PushRateLimiter(options.multicast_rate_per_second, redis_url=redis_url, endpoint="line-multicast")
        return cls(LineSettings.from_env(context.environ, context.policy.bots), context, limiter, multicast)

    def router(self) -> APIRouter:
        """The webhook of every bot with LINE credentials."""
        return self.connector.router(self._context.handler, self._context.policy)

    async def send(self, address: Address, reply: Reply, language: str) -> bool:
        """Push ``reply`` to the LINE user; False when the bot has no LINE credentials or LINE refused it for good.

        Raises :class:`~bot.channels.TryLater` when LINE is down, slow or rate limiting, or when the
        shared push rate has no room within a short wait.
        """
        return await self._pusher.send(address, reply, language)

    async def send_many(self, batch: BulkBatch) -> None:
        """Multicast a notice to up to 500 residents (``bot.protocols.BulkSender``); ``batch.key`` is the retry key.

        Raises :class:`~bot.channels.TryLater` when LINE is down, slow or rate limiting, and
        :class:`~bot.types.BulkRefused` when it refuses the batch for good.
        """
        await self._pusher.multicast(batch, self.multicast_limiter)
