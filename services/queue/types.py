"""The queue service's vocabulary: event types, ticket states, notice stages, and the values passed around."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum


class QueueEventType(StrEnum):
    """What a ticketing system reports (the ``type`` of the ingest API)."""

    ISSUED = "issued"
    CALLED = "called"
    SERVED = "served"
    COUNTER_OPEN = "counter_open"
    COUNTER_CLOSED = "counter_closed"
    RESET = "reset"


#: Event types about one ticket (they need a ``ticket`` and a ``service``).
TICKET_EVENTS = frozenset({QueueEventType.ISSUED, QueueEventType.CALLED, QueueEventType.SERVED})


class TicketStatus(StrEnum):
    """A ticket of today: waiting → called → done (or done without a call: cancelled at the window)."""

    WAITING = "waiting"
    CALLED = "called"
    DONE = "done"


class NoticeStage(StrEnum):
    """The two notices a subscriber gets: when few tickets are ahead, and when their number is called."""

    NEAR = "near"
    CALLED = "called"


class NoticeRoute(StrEnum):
    """How a subscriber is told. E-mail is the hook for the core's e-mail delivery (not built yet)."""

    CONVERSATION = "conversation"
    EMAIL = "email"


@dataclass(frozen=True)
class QueueEvent:
    """One event of a ticketing system, as validated by the ingest API or made by a poller."""

    office: str
    type: QueueEventType
    at: datetime
    ticket: int | None = None
    service: str | None = None
    counter: str | None = None

    def key(self) -> str:
        """The idempotency key: (office, type, ticket, at); counter events without a ticket add the counter."""
        moment = self.at.astimezone(UTC).isoformat(timespec="microseconds")
        who = str(self.ticket) if self.ticket is not None else f"c:{self.counter or ''}:{self.service or ''}"
        return f"{self.office}|{self.type.value}|{who}|{moment}"


@dataclass(frozen=True)
class ServiceState:
    """The live state of one window (service) of an office; counts are None when unavailable."""

    service: str
    waiting: int | None
    calling: int | None
    calling_counter: str | None
    estimated_wait_minutes: int | None
    updated_at: datetime | None
    open_counters: int
    #: Whether the numbers are recent enough to show (``stale_after_seconds``).
    available: bool


@dataclass(frozen=True)
class OfficeState:
    """The live state of one office: its windows and the office-wide figures."""

    office: str
    services: tuple[ServiceState, ...]
    #: Within the office's opening hours now.
    open: bool
    #: Some window has recent data.
    available: bool
    updated_at: datetime | None

    @property
    def waiting(self) -> int | None:
        """Tickets waiting at every window with data (None when none has)."""
        counts = [s.waiting for s in self.services if s.available and s.waiting is not None]
        return sum(counts) if counts else None

    @property
    def calling(self) -> int | None:
        """The number called most recently at any window with data."""
        called = [s for s in self.services if s.available and s.calling is not None and s.updated_at is not None]
        return max(called, key=lambda s: s.updated_at or datetime.min).calling if called else None

    @property
    def estimated_wait_minutes(self) -> int | None:
        """The longest expected wait of the windows (a resident rarely knows which window will take them)."""
        minutes = [s.estimated_wait_minutes for s in self.services
                   if s.available and s.estimated_wait_minutes is not None]
        return max(minutes) if minutes else None


@dataclass(frozen=True)
class DueNotice:
    """A notice that became due: who gets it and what it says (rendered in the subscriber's language)."""

    #: The notice's row (``queue_notices.id``): marked sent once the notification service has it.
    id: int
    stage: NoticeStage
    route: NoticeRoute
    bot: str
    conversation_id: str
    office: str
    office_name: str
    ticket: int
    #: Tickets ahead (``near``) when it became due.
    ahead: int | None = None
    #: The counter to go to (``called``), when the system said.
    counter: str | None = None


@dataclass(frozen=True)
class Subscribed:
    """What subscribing did: the subscription, where the ticket stands, and any notice already due."""

    #: None when nothing was stored (the ticket was already called).
    subscription_id: int | None
    #: The ticket was called or served before the subscription: nothing will be sent.
    already_called: bool = False
    #: Tickets ahead now (None while the ticket is unknown to the ticketing data).
    ahead: int | None = None
    due: tuple[DueNotice, ...] = ()


@dataclass(frozen=True)
class IngestResult:
    """What the ingest API answers for one event."""

    duplicate: bool
    notices: int
    #: The QR code's URL for an ``issued`` ticket (the machine prints it), else None.
    qr_url: str | None = None
