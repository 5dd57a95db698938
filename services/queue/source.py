"""Where queue events come from: the ticketing machine is the city's, so it is reached through an adapter.

Ticketing systems that can post events use the ingest API (``POST /api/v1/queues/{office}/events``)
directly. Systems that can only be asked are wrapped in a :class:`QueueSource` and polled by
:class:`SourcePoller`, which applies their events through the same :class:`~services.queue.ingest.QueueIngest`
(so a polled event and a posted one are the same thing, stored once). :class:`FakeQueueSource` is the
fake for tests; :class:`services.queue.novosga.NovosgaSource` the NovoSGA adapter.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from bot.types import ClientError
from services.queue.types import QueueEvent

log = logging.getLogger(__name__)


class QueueSource(Protocol):
    """A ticketing system asked for what happened since the last time."""

    #: A short name for logs (never a credential).
    name: str
    #: Seconds between two polls.
    interval: float

    async def poll(self) -> Sequence[QueueEvent]:
        """Events since the previous poll (a repeat is harmless: events are idempotent)."""
        ...

    def rewind(self) -> None:
        """Forget what was reported: the next poll reports everything again (applying the last poll failed)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class FakeQueueSource:
    """A source a test feeds by hand: :meth:`add` events, and each :meth:`poll` returns those added since."""

    def __init__(self, name: str = "fake", interval: float = 0.05) -> None:
        self.name = name
        self.interval = interval
        self.polls = 0
        self.closed = False
        self._pending: list[QueueEvent] = []
        self._all: list[QueueEvent] = []

    def add(self, *events: QueueEvent) -> None:
        """Queue events for the next poll."""
        self._pending.extend(events)
        self._all.extend(events)

    async def poll(self) -> Sequence[QueueEvent]:
        """The events added since the last poll."""
        self.polls += 1
        events, self._pending = self._pending, []
        return events

    def rewind(self) -> None:
        """The next poll returns every event ever added."""
        self._pending = list(self._all)

    async def close(self) -> None:
        """Nothing to release."""
        self.closed = True


class SourcePoller:
    """Polls a source forever and applies what it returns; a failing poll is logged and tried again."""

    def __init__(self, source: QueueSource, apply: Callable[[Sequence[QueueEvent]], object]) -> None:
        """``apply(events)`` stores one office's events in one go (it runs in a worker thread: it may block on SQL)."""
        self._source = source
        self._apply = apply

    async def run_once(self) -> int:
        """One poll; returns how many events it returned."""
        events = list(await self._source.poll())
        try:
            for batch in _by_office(events):
                try:
                    await asyncio.to_thread(self._apply, batch)
                except ClientError:  # one event that can never apply (an unmapped window): the others one by one
                    for event in batch:
                        try:
                            await asyncio.to_thread(self._apply, [event])
                        except ClientError as refused:
                            log.warning("queue source %s: event refused (%s)", self._source.name, refused.code)
        except Exception:
            self._source.rewind()  # nothing is lost: the events applied already are recognised next time
            raise
        return len(events)

    async def run_forever(self) -> None:
        """Poll every ``source.interval`` seconds until cancelled, then close the source."""
        try:
            while True:
                try:
                    await self.run_once()
                except asyncio.CancelledError:
                    raise
                except Exception as error:  # the ticketing system is down, say: ask again next time
                    log.warning("queue source %s: poll failed (%s)", self._source.name, type(error).__name__)
                await asyncio.sleep(self._source.interval)
        finally:
            await self._source.close()


def _by_office(events: Sequence[QueueEvent]) -> list[list[QueueEvent]]:
    """Runs of consecutive events of one office (order kept)."""
    batches: list[list[QueueEvent]] = []
    for event in events:
        if batches and batches[-1][0].office == event.office:
            batches[-1].append(event)
        else:
            batches.append([event])
    return batches
