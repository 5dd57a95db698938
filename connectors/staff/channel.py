"""The ``staff`` channel: the console city staff and interpreters work in, and its JSON API.

Pages, not a resident channel: :class:`StaffConsole` (``/staff``) and :class:`StaffDeskApi`
(``/api/v1/auth/...``, ``/api/v1/handoffs/...``, ``/ws/staff``) on the core's staff accounts and desk.
The session cookie is marked Secure when the server is public over HTTPS (``server.public_https``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from fastapi import APIRouter

from bot.channels import (
    ChannelConfigError,
    ChannelContext,
    ChannelKind,
    NoSettings,
    StaffDeskServices,
    cannot_send,
    channel_settings,
)
from bot.protocols import StaffAuth
from connectors.staff.api import StaffDeskApi
from connectors.staff.broadcasts_page import BroadcastsPage
from connectors.staff.console import StaffConsole


class StaffChannel:
    """The staff console and its JSON API."""

    name: ClassVar[str] = "staff"
    kind: ClassVar[ChannelKind] = ChannelKind.PAGES
    send = staticmethod(cannot_send)

    def __init__(self, accounts: StaffAuth, desk: StaffDeskServices, context: ChannelContext) -> None:
        self.api = StaffDeskApi(accounts, desk, secure_cookie=context.public_https, live=context.live)
        # The broadcasts page works on the admin channel's API: no page (and no link) without it.
        broadcasts = context.notifications is not None and "admin" in context.enabled
        self.console = StaffConsole(bots=context.policy.bots, catalog=context.catalog, broadcasts=broadcasts)
        self.broadcasts = BroadcastsPage(accounts, bots=context.policy.bots, languages=context.policy.languages,
                                         channels=context.resident_channels,
                                         catalog=context.catalog) if broadcasts else None

    @classmethod
    def from_config(cls, section: Mapping[str, Any], context: ChannelContext) -> StaffChannel:
        """Validate ``connectors.staff``; the app must provide the staff accounts and desk."""
        channel_settings(NoSettings, cls.name, section)
        if context.accounts is None or context.desk is None:
            raise ChannelConfigError(f"connectors.{cls.name}: this app has no staff accounts or desk "
                                     f"(set connectors.{cls.name}.enabled: false to serve no console)")
        return cls(context.accounts, context.desk, context)

    def router(self) -> APIRouter:
        """``/staff``, its static files, the console's JSON API, ``/ws/staff`` and ``/staff/broadcasts``."""
        router = APIRouter()
        router.include_router(self.api.router())
        router.include_router(self.console.router())
        if self.broadcasts is not None:
            router.include_router(self.broadcasts.router())
        return router
