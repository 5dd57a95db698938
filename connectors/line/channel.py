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
from bot.types import Reply
from connectors.line.delivery import CHANNEL
from connectors.line.push import LinePusher
from connectors.line.rate_limit import DEFAULT_PUSH_RATE, PushRateLimiter, shared_storage_url
from connectors.line.settings import LineSettings
from connectors.line.webhook import LineConnector


class LineChannelSettings(BaseModel):
    """``connectors.line`` (credentials are secrets: they come from the environment)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Pushes per second per bot (LINE channel), all processes together. LINE allows 2,000 requests per
    #: second on the push endpoint; the default keeps half of that as a margin.
    push_rate_per_second: int = Field(default=DEFAULT_PUSH_RATE, ge=1, le=2000)


class LineMessagingChannel:
    """The webhooks ``/line/{bot}/webhook`` and pushes through LINE's Messaging API."""

    name: ClassVar[str] = CHANNEL
    kind: ClassVar[ChannelKind] = ChannelKind.PLATFORM

    def __init__(self, settings: LineSettings, context: ChannelContext, limiter: PushRateLimiter | None = None) -> None:
        """``limiter``: the push rate shared by all processes (default: LINE's default rate, in this process)."""
        self.settings = settings
        self._context = context
        self.connector = LineConnector(settings, catalog=context.catalog)
        self.limiter = limiter or PushRateLimiter()
        self._pusher = LinePusher(settings, context.catalog, self.limiter)

    @classmethod
    def from_config(cls, section: Mapping[str, Any], context: ChannelContext) -> LineMessagingChannel:
        """Validate ``connectors.line``; read the bots' credentials and the shared Redis from the environment."""
        options = channel_settings(LineChannelSettings, cls.name, section)
        limiter = PushRateLimiter(options.push_rate_per_second, redis_url=shared_storage_url(context.environ))
        return cls(LineSettings.from_env(context.environ, context.policy.bots), context, limiter)

    def router(self) -> APIRouter:
        """The webhook of every bot with LINE credentials."""
        return self.connector.router(self._context.handler, self._context.policy)

    async def send(self, address: Address, reply: Reply, language: str) -> bool:
        """Push ``reply`` to the LINE user; False when the bot has no LINE credentials or LINE refused it for good.

        Raises :class:`~bot.channels.TryLater` when LINE is down, slow or rate limiting, or when the
        shared push rate has no room within a short wait.
        """
        return await self._pusher.send(address, reply, language)
