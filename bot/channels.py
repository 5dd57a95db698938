"""Channels are registered plugins: the app factory builds every installed channel from its config section.

A channel is one subpackage of ``connectors`` (or of any installed package) registered under the
``yorisoi.channels`` entry point group, plus one section under ``connectors:`` in ``config.yml``
(``enabled: false`` turns it off; everything else in the section is the channel's own settings,
validated by the channel). The core never names a channel: it hands each one a
:class:`ChannelContext` and mounts its router; channels of kind ``PLATFORM`` also receive the
messages written outside a reply (staff, effect results, notices) through :meth:`Channel.send`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, ValidationError

from bot.protocols import (
    Broadcasts,
    ContactBook,
    HandoffDesk,
    HandoffRoom,
    LiveUpdates,
    MessageHandler,
    SecureFormService,
    StaffAuth,
    StaffDirectory,
)
from bot.types import ChannelPolicy, Reply
from translations.catalog import Catalog

if TYPE_CHECKING:
    from bot.plugins import PluginContext

#: The entry point group channels register in (name = the ``connectors:`` section, value = the class).
CHANNEL_ENTRY_POINTS = "yorisoi.channels"


class ChannelKind(StrEnum):
    """How a channel addresses residents."""

    #: Browser clients (widget, kiosk, Rasa clients) make a secret sender id themselves: transcripts may
    #: be served by that id, and clients fetch messages written outside a reply themselves.
    BROWSER = "browser"
    #: A platform assigns sender ids (LINE): transcripts are never served by id; the core pushes
    #: messages written outside a reply through :meth:`Channel.send`.
    PLATFORM = "platform"
    #: Not a resident channel: pages for staff or one-off pages (the console, secure forms).
    PAGES = "pages"
    #: Reaches residents of other channels at an address they gave with their consent (e-mail): it has no
    #: conversations of its own, so nothing is pushed to it through :meth:`Channel.send`; notifications
    #: reach it as a delivery route (``bot.protocols.BulkSender``), and broadcasts may name it as a channel.
    ROUTE = "route"


@dataclass(frozen=True)
class Address:
    """Where :meth:`Channel.send` delivers: a resident of a bot, and a key that makes a retried send a no-op."""

    bot: str
    sender: str
    key: str


class TryLater(Exception):
    """Raised by :meth:`Channel.send` when a message could not be delivered now but may be later.

    The platform is down (5xx), slow (a timeout), unreachable, or asks to slow down (429, or the
    channel's own rate limit). The outbox puts the message back and tries again after
    ``retry_after`` seconds when given (e.g. the platform's ``Retry-After``), else after its backoff.
    A permanent refusal is not raised: ``send`` returns False.
    """

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        #: Short and free of personal data: it is stored as the message's ``error``.
        self.reason = reason
        self.retry_after = retry_after


class StaffDeskServices(HandoffDesk, HandoffRoom, StaffDirectory, Protocol):
    """The staff desk as the console sees it."""


@dataclass(frozen=True)
class ChannelContext:
    """What the core gives a channel. ``catalog()`` is the catalog of the latest reload."""

    handler: MessageHandler
    policy: ChannelPolicy
    catalog: Callable[[], Catalog]
    environ: Mapping[str, str]
    #: Installed and enabled channel names (e.g. the widget links to the kiosk when it is served).
    enabled: frozenset[str]
    #: The enabled channels residents are reached on (``BROWSER``, ``PLATFORM`` and ``ROUTE``; not ``PAGES``).
    resident_channels: frozenset[str] = frozenset()
    public_https: bool = False
    accounts: StaffAuth | None = None
    desk: StaffDeskServices | None = None
    secure_forms: SecureFormService | None = None
    #: Notifications to many residents (the admin broadcasts API).
    notifications: Broadcasts | None = None
    #: Wake-ups for live connections (None: they poll SQL every second, as before wake-ups existed).
    live: LiveUpdates | None = None
    #: The deployment, for the channels of live services (``services/``); connectors/ do not use it.
    plugins: PluginContext | None = None
    #: Addresses residents gave for a route with their consent (e-mail), for ``ROUTE`` channels.
    contacts: ContactBook | None = None
    #: The deployment's data directory (e.g. where the e-mail channel's demo mode writes its messages).
    data_path: Path | None = None
    #: Where residents reach this server from outside (links in e-mails); ``server.public_url``, else the
    #: local address ``yorisoi run`` listens on.
    public_url: str = "http://127.0.0.1:8000"


class Channel(Protocol):
    """A channel: built from its config section, mounted by its router, able to send to an address."""

    name: ClassVar[str]
    kind: ClassVar[ChannelKind]

    @classmethod
    def from_config(cls, section: Mapping[str, Any], context: ChannelContext) -> Channel:
        """Build the channel (raise :class:`ChannelConfigError` for a bad section)."""
        ...

    def router(self) -> APIRouter:
        """Routes to mount on the app."""
        ...

    async def send(self, address: Address, reply: Reply, language: str) -> bool:
        """Deliver a message written outside a reply (``PLATFORM`` channels); False when it was refused for good.

        Raises :class:`TryLater` when it may be delivered later; a send retried with the same
        ``address.key`` must not reach the resident twice.
        """
        ...


class ChannelConfigError(ValueError):
    """A channel's config section is invalid; the message names the keys."""


class NoSettings(BaseModel):
    """The section of a channel with nothing to set besides ``enabled``."""

    model_config = ConfigDict(extra="forbid", frozen=True)


SettingsModel = TypeVar("SettingsModel", bound=BaseModel)


def channel_settings(model: type[SettingsModel], name: str, section: Mapping[str, Any]) -> SettingsModel:
    """Validate a channel's section (without ``enabled``) with its pydantic ``model``; errors name the keys."""
    values = {key: value for key, value in section.items() if key != "enabled"}
    try:
        return model.model_validate(values)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            key = ".".join(str(part) for part in ("connectors", name, *item["loc"]))
            message = "unknown key" if item["type"] == "extra_forbidden" else item["msg"].removeprefix("Value error, ")
            problems.append(f"{key}: {message}")
        raise ChannelConfigError("; ".join(problems)) from None


async def cannot_send(_address: Address, _reply: Reply, _language: str) -> bool:
    """``send`` of channels whose clients fetch their messages themselves (nothing is pushed)."""
    return False


def installed_channels() -> dict[str, type[Channel]]:
    """Every channel class installed packages register, by name."""
    found: dict[str, type[Channel]] = {}
    for entry in entry_points(group=CHANNEL_ENTRY_POINTS):
        found[entry.name] = entry.load()
    return found


def enabled_channel_names(installed: Mapping[str, object], sections: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Installed channels whose section does not say ``enabled: false``; unknown sections are an error."""
    unknown = sorted(set(sections) - set(installed))
    if unknown:
        raise ChannelConfigError(f"connectors.{unknown[0]}: no such channel is installed "
                                 f"(installed: {', '.join(sorted(installed))})")
    return [name for name in installed if sections.get(name, {}).get("enabled", True) is not False]
