"""The ``queues`` channel: the queue service's routes and background work, registered like any channel.

Kind ``PAGES`` (residents do not talk on it): it mounts the ingest and public API
(:mod:`services.queue.api`) and the pages (:mod:`services.queue.pages`), and while the app runs it
polls the configured ticketing systems (NovoSGA), sends notices a crashed process left behind and
forgets old data. Settings: ``connectors: queues:`` (:class:`~services.queue.settings.QueueSettings`);
``enabled: false`` turns the whole service off (the bot then answers "where and how").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, ClassVar

from fastapi import APIRouter, FastAPI
from fastapi.concurrency import run_in_threadpool

from bot.channels import ChannelConfigError, ChannelContext, ChannelKind, cannot_send, channel_settings
from services.queue.api import QueueApi
from services.queue.novosga import NovosgaSource
from services.queue.pages import QueuePages
from services.queue.runtime import SECTION, QueueRuntime, queue_runtime
from services.queue.settings import QueueSettings
from services.queue.source import QueueSource, SourcePoller

log = logging.getLogger(__name__)
#: How often notices left claimed by a crashed process are looked for.
DRAIN_SECONDS = 5.0
#: How often old events, tickets and subscriptions are forgotten.
PURGE_SECONDS = 3600.0


class QueueChannel:
    """Ward-office queues: API, status page, QR pages, pollers."""

    name: ClassVar[str] = SECTION
    kind: ClassVar[ChannelKind] = ChannelKind.PAGES
    send = staticmethod(cannot_send)

    def __init__(self, runtime: QueueRuntime, context: ChannelContext,
                 sources: tuple[QueueSource, ...] | None = None) -> None:
        """``sources``: the ticketing systems to poll (default: the configured NovoSGA servers)."""
        self.runtime = runtime
        self.api = QueueApi(runtime, context.environ, context.policy.languages, context.policy.default_language,
                            live=context.live)
        self.pages = QueuePages(runtime, self.api, context.handler, context.catalog, context.policy.languages)
        self.sources = sources if sources is not None else tuple(
            NovosgaSource(server) for server in runtime.settings.novosga)

    @classmethod
    def from_config(cls, section: Mapping[str, Any], context: ChannelContext) -> QueueChannel:
        """Validate ``connectors.queues``; the app must hand over the deployment (``context.plugins``)."""
        channel_settings(QueueSettings, cls.name, section)
        if context.plugins is None:
            raise ChannelConfigError(f"connectors.{cls.name}: this app gives plugins no deployment "
                                     f"(set connectors.{cls.name}.enabled: false to serve no queues)")
        runtime = queue_runtime(context.plugins)
        directory = runtime.directory()
        unknown = sorted(set(runtime.settings.office_tokens) - set(directory.ids()))
        unmapped = sorted({office for server in runtime.settings.novosga for office in server.units.values()}
                          - set(directory.ids()))
        if unknown or unmapped:
            raise ChannelConfigError(f"connectors.{cls.name}: no office {(unknown or unmapped)[0]!r} in the city "
                                     f"profile's queues section (offices: {', '.join(directory.ids())})")
        runtime.store.ensure_offices(directory.ids())
        return cls(runtime, context)

    def router(self) -> APIRouter:
        """The API and pages, with the background work as the router's lifespan."""
        router = APIRouter(lifespan=self._lifespan)
        router.include_router(self.api.router())
        router.include_router(self.pages.router())
        return router

    @asynccontextmanager
    async def _lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(SourcePoller(source, self.runtime.ingest.record_many).run_forever())
                 for source in self.sources]
        tasks.append(asyncio.create_task(self._housekeeping()))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _housekeeping(self) -> None:
        """Send notices left claimed by a crashed process; forget old data now and then."""
        since_purge = PURGE_SECONDS
        while True:
            try:
                await run_in_threadpool(self.runtime.ingest.drain)
                if since_purge >= PURGE_SECONDS:
                    await run_in_threadpool(self.runtime.store.purge, self.runtime.now())
                    since_purge = 0.0
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database restarts, say: next round
                log.warning("queue housekeeping failed: %s", type(error).__name__)
            await asyncio.sleep(DRAIN_SECONDS)
            since_purge += DRAIN_SECONDS
