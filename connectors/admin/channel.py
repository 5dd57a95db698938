"""The ``admin`` channel: pages (here: a JSON API) for administrators, on the core's notification service.

Not a resident channel (kind ``PAGES``): it mounts the broadcasts API (:mod:`connectors.admin.api`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from fastapi import APIRouter

from bot.channels import ChannelConfigError, ChannelContext, ChannelKind, NoSettings, cannot_send, channel_settings
from bot.protocols import Broadcasts
from connectors.admin.api import BroadcastsApi


class AdminChannel:
    """The administrators' broadcasts API."""

    name: ClassVar[str] = "admin"
    kind: ClassVar[ChannelKind] = ChannelKind.PAGES
    send = staticmethod(cannot_send)

    def __init__(self, broadcasts: Broadcasts, context: ChannelContext) -> None:
        residents = context.resident_channels
        self.api = BroadcastsApi(broadcasts, context.accounts, context.environ, lambda: residents,
                                 bots=context.policy.bots)

    @classmethod
    def from_config(cls, section: Mapping[str, Any], context: ChannelContext) -> AdminChannel:
        """Validate ``connectors.admin``; the app must provide the notification service."""
        channel_settings(NoSettings, cls.name, section)
        if context.notifications is None:
            raise ChannelConfigError(f"connectors.{cls.name}: this app has no notification service "
                                     f"(set connectors.{cls.name}.enabled: false to serve no admin API)")
        return cls(context.notifications, context)

    def router(self) -> APIRouter:
        """The broadcasts API."""
        return self.api.router()
