"""One runtime per deployment, shared by the queue service's skills, effects and channel.

Built from the deployment's :class:`~bot.plugins.PluginContext` and the ``connectors: queues:``
section on first use (:func:`queue_runtime`); the office directory follows profile reloads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.channels import channel_settings
from bot.plugins import PluginContext
from bot.secrets import load_key
from knowledge.profile import CityProfile
from services.queue.ingest import QueueIngest
from services.queue.notices import ConversationNotices, NoticeDispatcher
from services.queue.offices import OfficeDirectory
from services.queue.settings import QueueSettings
from services.queue.snapshot import LiveBoard
from services.queue.store import QueueStore
from services.queue.tickets import TicketLinks, derive_key
from services.queue.types import NoticeRoute

#: The ``connectors:`` section (and the channel's name) of the queue service.
SECTION = "queues"


@dataclass(frozen=True)
class QueueRuntime:
    """The parts of the queue service."""

    settings: QueueSettings
    directory: Callable[[], OfficeDirectory]
    store: QueueStore
    board: LiveBoard
    ingest: QueueIngest
    dispatcher: NoticeDispatcher
    links: TicketLinks
    now: Callable[[], datetime]
    #: The URL of the city's own congestion page (the bot's fallback when there is no live data).
    fallback_url: Callable[[str], str]


def queue_section(context: PluginContext) -> Mapping[str, Any]:
    """``connectors.queues`` as configured (empty when absent)."""
    return context.config.connectors.get(SECTION, {})


def queue_enabled(context: PluginContext) -> bool:
    """Whether the deployment serves live queues (``connectors.queues.enabled`` is not false)."""
    return queue_section(context).get("enabled", True) is not False


def queue_runtime(context: PluginContext) -> QueueRuntime:
    """The deployment's queue runtime (built once; raises ``ChannelConfigError`` for a bad section)."""
    return context.shared("services.queue", lambda: build_runtime(context))


def build_runtime(context: PluginContext, settings: QueueSettings | None = None) -> QueueRuntime:
    """A new runtime (tests pass their own ``settings``)."""
    settings = settings or channel_settings(QueueSettings, SECTION, queue_section(context))
    directory = DirectoryCache(lambda: context.services().profile)
    store = QueueStore(context.sessions, lambda: directory().zone())
    key = derive_key(settings.ticket_secret or load_key(context.data_path))
    links = TicketLinks(key, settings.public_url or context.config.server.public_url or "")
    dispatcher = NoticeDispatcher(store, {NoticeRoute.CONVERSATION: ConversationNotices(context.notifications)},
                                  context.now)
    ingest = QueueIngest(store, directory, dispatcher, links, settings.notice_ahead, context.now)
    board = LiveBoard(context.sessions, directory, settings)

    def fallback_url(language: str) -> str:
        profile = context.services().profile
        return profile.value("offices.congestion_url", language) if profile.has("offices.congestion_url") else ""

    return QueueRuntime(settings, directory, store, board, ingest, dispatcher, links, context.now, fallback_url)


class DirectoryCache:
    """The office directory of the current profile, rebuilt when a reload swapped the profile."""

    def __init__(self, profile: Callable[[], CityProfile]) -> None:
        self._profile = profile
        self._lock = threading.Lock()
        self._built: tuple[CityProfile, OfficeDirectory] | None = None

    def __call__(self) -> OfficeDirectory:
        """The directory of ``profile()``."""
        profile = self._profile()
        with self._lock:
            if self._built is None or self._built[0] is not profile:
                self._built = (profile, OfficeDirectory(profile))
            return self._built[1]
