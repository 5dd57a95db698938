"""The ``kiosk`` channel: touch screens at community centres (:class:`KioskConnector`).

Settings (``connectors.kiosk`` in ``config.yml``): ``idle_seconds`` (3–3600, default 90) without a touch
wipe the screen for the next visitor, after a countdown of ``warning_seconds`` (1–600, default 15);
``languages`` with a button (configured languages only; default: all of them); ``public_url`` for the
"continue on your phone" QR code; ``default_location`` names a kiosk whose URL has no ``?location=``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from bot.channels import ChannelConfigError, ChannelContext, ChannelKind, cannot_send, channel_settings
from connectors.kiosk.connector import LOCATION_PATTERN, MAX_IDLE_SECONDS, MIN_IDLE_SECONDS, KioskConnector


class KioskSettings(BaseModel):
    """``connectors.kiosk``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Seconds without a touch before the screen and the session are wiped for the next person.
    idle_seconds: int = Field(default=90, ge=MIN_IDLE_SECONDS, le=MAX_IDLE_SECONDS)
    #: The countdown shown before the wipe, with a "continue" button.
    warning_seconds: int = Field(default=15, ge=1, le=600)
    #: Language buttons (default: every configured language; ja, ja-x-easy and en first).
    languages: tuple[str, ...] | None = None
    #: Public address for the "continue on your phone" QR code (default: the address the kiosk uses).
    public_url: str | None = None
    default_location: str | None = Field(default=None, pattern=LOCATION_PATTERN)


class KioskChannel:
    """The kiosk screen and its JSON endpoints under ``/kiosk``."""

    name: ClassVar[str] = "kiosk"
    kind: ClassVar[ChannelKind] = ChannelKind.BROWSER
    send = staticmethod(cannot_send)

    def __init__(self, settings: KioskSettings, context: ChannelContext) -> None:
        self.settings = settings
        self._context = context
        self.connector = KioskConnector(
            idle_seconds=settings.idle_seconds, warning_seconds=settings.warning_seconds,
            languages=settings.languages, public_url=settings.public_url,
            default_location=settings.default_location, catalog=context.catalog, live=context.live,
        )

    @classmethod
    def from_config(cls, section: Mapping[str, Any], context: ChannelContext) -> KioskChannel:
        """Validate ``connectors.kiosk``: bounds, and ``languages`` must be configured languages."""
        settings = channel_settings(KioskSettings, cls.name, section)
        unknown = [code for code in settings.languages or () if code not in context.policy.languages]
        if unknown:
            raise ChannelConfigError(f"connectors.{cls.name}.languages: {unknown[0]!r} is not a configured "
                                     f"language (configured: {', '.join(context.policy.languages)})")
        return cls(settings, context)

    def router(self) -> APIRouter:
        """The routes under ``/kiosk``."""
        return self.connector.router(self._context.handler, self._context.policy)
