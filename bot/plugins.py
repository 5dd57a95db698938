"""What plugins of the core are built with: live services (``services/``) need the deployment itself.

A live service (ward-office queues, a library system ...) registers skills, effect handlers and a
channel through the entry points (``yorisoi.skills``, ``yorisoi.effects``, ``yorisoi.channels``).
Unlike a plain skill it reads and writes tables of its own and notifies residents, so the app factory
builds one :class:`PluginContext` per deployment and hands it to every plugin factory: skill and
effect factories are called with it, channels find it in ``ChannelContext.plugins``. The three parts
of one service share their runtime through :meth:`PluginContext.shared`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from bot.config import AppConfig
    from bot.notifications import NotificationService
    from bot.turn import Services

T = TypeVar("T")


@dataclass(frozen=True)
class PluginContext:
    """The deployment as plugins see it."""

    config: AppConfig
    #: The deployment's SQL sessions (a plugin's tables come with the core's migrations).
    sessions: sessionmaker[Session]
    #: Messages to residents (``send`` to an audience of one or many conversations).
    notifications: NotificationService
    #: The catalog, KB and city profile of the latest reload.
    services: Callable[[], Services]
    #: The clock (tests replace it).
    now: Callable[[], datetime]
    #: Where the deployment keeps its files (and its secret key, ``bot.secrets.load_key``).
    data_path: Path
    _shared: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def shared(self, name: str, build: Callable[[], T]) -> T:
        """The object ``name`` of this deployment, built by ``build()`` on first use (thread-safe)."""
        with self._lock:
            if name not in self._shared:
                self._shared[name] = build()
            value: T = self._shared[name]
            return value
