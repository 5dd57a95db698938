"""Applying queue events: check them against the profile's offices, store them once, send the notices they make due.

Both the ingest API and the pollers call :meth:`QueueIngest.record`. It stores the event and the
notices it makes due in one transaction, then hands those notices to the notification service
(which delivers at once, through the task engine when one is configured).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from bot.types import ClientError
from services.queue.notices import NoticeDispatcher
from services.queue.offices import OfficeDirectory
from services.queue.store import QueueStore
from services.queue.tickets import TicketLinks
from services.queue.types import TICKET_EVENTS, IngestResult, QueueEvent, QueueEventType


class UnknownOffice(ClientError):
    """The office is not in the city profile's ``queues`` section (404)."""

    def __init__(self, office: str) -> None:
        super().__init__(404, "unknown_office", f"no office {office!r} reports queues here")


class InvalidEvent(ClientError):
    """An event that cannot be applied as sent (422)."""

    def __init__(self, message: str) -> None:
        super().__init__(422, "invalid_event", message)


class QueueIngest:
    """Records events (see the module docstring)."""

    def __init__(self, store: QueueStore, directory: Callable[[], OfficeDirectory], dispatcher: NoticeDispatcher,
                 links: TicketLinks, notice_ahead: int, now: Callable[[], datetime]) -> None:
        self._store = store
        self._directory = directory
        self._dispatcher = dispatcher
        self._links = links
        self._notice_ahead = notice_ahead
        self._now = now

    def check(self, event: QueueEvent) -> QueueEvent:
        """``event`` as it will be stored: the window filled in for a one-window office; raises 404 / 422."""
        office = self._directory().get(event.office)
        if office is None:
            raise UnknownOffice(event.office)
        service = event.service
        if service is None and event.type in TICKET_EVENTS and len(office.services) == 1:
            service = office.services[0]
        if event.type in TICKET_EVENTS:
            if event.ticket is None:
                raise InvalidEvent(f"ticket: required for {event.type.value} events")
            if service is None:
                raise InvalidEvent(f"service: required for {event.type.value} events; "
                                   f"use one of {', '.join(office.services)}")
        if service is not None and service not in office.services:
            raise InvalidEvent(f"service: {service!r} is not a window of {event.office}; "
                               f"use one of {', '.join(office.services)}")
        if event.type in (QueueEventType.COUNTER_OPEN, QueueEventType.COUNTER_CLOSED) and not event.counter:
            raise InvalidEvent(f"counter: required for {event.type.value} events")
        if event.at.tzinfo is None:
            raise InvalidEvent("at: give the time zone, e.g. 2026-12-02T10:15:00+09:00")
        return QueueEvent(office=event.office, type=event.type, at=event.at, ticket=event.ticket, service=service,
                          counter=event.counter)

    def record(self, event: QueueEvent) -> IngestResult:
        """Store ``event`` once and send the notices it makes due (404 / 422 for an event that cannot apply)."""
        return self.record_many([event])[0]

    def record_many(self, events: Sequence[QueueEvent]) -> list[IngestResult]:
        """Store one office's ``events`` (in order, one transaction) and send the notices they make due.

        Every event is checked first: one that cannot apply refuses the whole batch (404 / 422).
        The batch's notices are counted on its last event.
        """
        checked = [self.check(event) for event in events]
        if not checked:
            return []
        office = self._directory().get(checked[0].office)
        assert office is not None
        duplicates, due = self._store.apply(checked, office.services, self._now(), self._notice_ahead)
        self._dispatcher.send(due)
        results = []
        for index, (event, duplicate) in enumerate(zip(checked, duplicates, strict=True)):
            qr_url = None
            if event.type is QueueEventType.ISSUED and event.ticket is not None:
                qr_url = self._links.url(event.office, event.ticket, self._store.day_of(event.at))
            notices = len(due) if index == len(checked) - 1 else 0
            results.append(IngestResult(duplicate=duplicate, notices=notices, qr_url=qr_url))
        return results

    def drain(self) -> int:
        """Send notices a crashed process left claimed (see :meth:`NoticeDispatcher.drain`)."""
        return self._dispatcher.drain()
