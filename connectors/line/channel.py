"""The ``line`` channel: one LINE official account per bot (:class:`LineConnector` and :class:`LinePusher`).

No settings besides ``enabled``: the credentials come from the environment (``LINE_<BOT>_CHANNEL_SECRET``
and ``LINE_<BOT>_ACCESS_TOKEN``; bots without both are not served), the API hosts from ``LINE_API_BASE``
and ``LINE_DATA_API_BASE``. LINE assigns the sender ids, so messages written outside a reply (staff,
effect results, notices) are pushed through :meth:`LineMessagingChannel.send`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from bot.channels import Address, ChannelContext, ChannelKind, channel_settings
from bot.types import Reply
from connectors.line.delivery import CHANNEL
from connectors.line.push import LinePusher
from connectors.line.settings import LineSettings
from connectors.line.webhook import LineConnector


class LineChannelSettings(BaseModel):
    """``connectors.line``: nothing to set (credentials are secrets: they come from the environment)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LineMessagingChannel:
    """The webhooks ``/line/{bot}/webhook`` and pushes through LINE's Messaging API."""

    name: ClassVar[str] = CHANNEL
    kind: ClassVar[ChannelKind] = ChannelKind.PLATFORM

    def __init__(self, settings: LineSettings, context: ChannelContext) -> None:
        self.settings = settings
        self._context = context
        self.connector = LineConnector(settings, catalog=context.catalog)
        self._pusher = LinePusher(settings, context.catalog)

    @classmethod
    def from_config(cls, section: Mapping[str, Any], context: ChannelContext) -> LineMessagingChannel:
        """Validate ``connectors.line`` and read the credentials of the configured bots from the environment."""
        channel_settings(LineChannelSettings, cls.name, section)
        return cls(LineSettings.from_env(context.environ, context.policy.bots), context)

    def router(self) -> APIRouter:
        """The webhook of every bot with LINE credentials."""
        return self.connector.router(self._context.handler, self._context.policy)

    async def send(self, address: Address, reply: Reply, language: str) -> bool:
        """Push ``reply`` to the LINE user; False when the bot has no LINE credentials or LINE refused it."""
        return await self._pusher.send(address, reply, language)
