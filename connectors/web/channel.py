"""The ``web`` channel: the JSON API (:class:`WebApiConnector`) and the widget (:class:`WebWidgetConnector`).

Settings (``connectors.web`` in ``config.yml``): ``default_bot``, the bot of the demo page without
``?bot=`` (default: the first bot). The demo page links to the kiosk when the ``kiosk`` channel is enabled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from bot.channels import ChannelConfigError, ChannelContext, ChannelKind, cannot_send, channel_settings
from connectors.web.api import WebApiConnector
from connectors.web.widget import WebWidgetConnector


class WebSettings(BaseModel):
    """``connectors.web``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Bot shown on the demo page without ``?bot=`` (default: the first bot).
    default_bot: str | None = None


class WebChannel:
    """The JSON API, the WebSocket, the embeddable widget and the demo page."""

    name: ClassVar[str] = "web"
    kind: ClassVar[ChannelKind] = ChannelKind.BROWSER
    send = staticmethod(cannot_send)

    def __init__(self, settings: WebSettings, context: ChannelContext) -> None:
        self.settings = settings
        self._context = context
        self.api = WebApiConnector()
        self.widget = WebWidgetConnector(default_bot=settings.default_bot,
                                         kiosk_path="/kiosk" if "kiosk" in context.enabled else None,
                                         catalog=context.catalog, live=context.live)

    @classmethod
    def from_config(cls, section: Mapping[str, Any], context: ChannelContext) -> WebChannel:
        """Validate ``connectors.web``: ``default_bot`` must be a configured bot."""
        settings = channel_settings(WebSettings, cls.name, section)
        if settings.default_bot is not None and settings.default_bot not in context.policy.bots:
            raise ChannelConfigError(f"connectors.{cls.name}.default_bot: {settings.default_bot!r} is not a "
                                     f"configured bot (configured: {', '.join(context.policy.bots)})")
        return cls(settings, context)

    def router(self) -> APIRouter:
        """``/api/v1/...``, ``/``, ``/static/...`` and ``/ws/chat``."""
        router = APIRouter()
        router.include_router(self.api.router(self._context.handler, self._context.policy))
        router.include_router(self.widget.router(self._context.handler, self._context.policy))
        return router
