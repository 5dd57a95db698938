"""The ``secure`` channel: the one-time secure form pages (:class:`SecureFormPages`, ``/secure/{token}``).

Pages, not a resident channel; no settings besides ``enabled``. Without the core's secure form
service (``ChannelContext.secure_forms``) nothing is served.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from fastapi import APIRouter

from bot.channels import ChannelContext, ChannelKind, NoSettings, cannot_send, channel_settings
from connectors.secure.pages import SecureFormPages


class SecureChannel:
    """``GET`` and ``POST /secure/{token}`` on the core's secure form service."""

    name: ClassVar[str] = "secure"
    kind: ClassVar[ChannelKind] = ChannelKind.PAGES
    send = staticmethod(cannot_send)

    def __init__(self, context: ChannelContext) -> None:
        self._context = context

    @classmethod
    def from_config(cls, section: Mapping[str, Any], context: ChannelContext) -> SecureChannel:
        """Validate ``connectors.secure`` (no keys besides ``enabled``)."""
        channel_settings(NoSettings, cls.name, section)
        return cls(context)

    def router(self) -> APIRouter:
        """The pages, or no routes when the app has no secure form service."""
        service = self._context.secure_forms
        if service is None:
            return APIRouter()
        pages = SecureFormPages(catalog=self._context.catalog,
                                default_language=self._context.policy.default_language)
        return pages.router(service)
