"""Reads of the live state: every office's windows in a handful of queries, cached for a moment.

The status page's stream, the public API and the bot all read :meth:`LiveBoard.offices`; one
snapshot per ``refresh_seconds`` per process is computed however many pages watch.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session, sessionmaker

from services.queue import tables as t
from services.queue.estimate import WindowActivity, expected_wait_minutes, rounded_minutes
from services.queue.offices import OfficeDirectory
from services.queue.settings import QueueSettings
from services.queue.types import OfficeState, ServiceState, TicketStatus


@dataclass(frozen=True)
class TicketView:
    """One ticket of today: its window, its status and how many waiting tickets are before it."""

    service: str
    status: TicketStatus
    ahead: int


class LiveBoard:
    """The live state of every office (see the module docstring)."""

    def __init__(self, sessions: sessionmaker[Session], directory: Callable[[], OfficeDirectory],
                 settings: QueueSettings) -> None:
        """``directory()`` is the office directory of the latest profile reload."""
        self._sessions = sessions
        self._directory = directory
        self._settings = settings
        self._lock = threading.Lock()
        self._cached: tuple[float, datetime, tuple[OfficeState, ...]] | None = None

    def offices(self, now: datetime, *, fresh: bool = False) -> tuple[OfficeState, ...]:
        """Every office's state at ``now`` (a snapshot at most ``refresh_seconds`` old unless ``fresh``)."""
        started = time.monotonic()
        with self._lock:
            cached = self._cached
            # Old after refresh_seconds of real time or of the clock's time (a test's clock may stand still or jump).
            if not fresh and cached is not None and max(started - cached[0], abs((now - cached[1]).total_seconds())
                                                       ) < self._settings.refresh_seconds:
                return cached[2]
        states = self._read(now)
        with self._lock:
            self._cached = (started, now, states)
        return states

    def office(self, office_id: str, now: datetime, *, fresh: bool = False) -> OfficeState | None:
        """One office's state, or None for an unknown office."""
        return next((state for state in self.offices(now, fresh=fresh) if state.office == office_id), None)

    def ticket(self, office: str, ticket: int, now: datetime) -> TicketView | None:
        """Where a ticket of today stands (the latest issued of that number), or None when it is unknown."""
        directory = self._directory()
        day = now.astimezone(directory.zone()).date()
        c = t.tickets.c
        with self._sessions() as session:
            row = session.execute(select(c.service, c.status, c.issued_at, c.ticket).where(
                c.office == office, c.day == day, c.ticket == ticket).order_by(c.issued_at.desc()).limit(1)).first()
            if row is None:
                return None
            before = session.execute(select(func.count()).select_from(t.tickets).where(
                c.office == office, c.service == row.service, c.day == day, c.status == TicketStatus.WAITING.value,
                tuple_(c.issued_at, c.ticket) < tuple_(row.issued_at, row.ticket))).scalar_one()
        return TicketView(str(row.service), TicketStatus(row.status), int(before))

    def subscriptions_of(self, conversation_id: str, now: datetime) -> list[tuple[str, int]]:
        """The conversation's active subscriptions: (office, ticket)."""
        s = t.subscriptions.c
        with self._sessions() as session:
            rows = session.execute(select(s.office, s.ticket).where(
                s.conversation_id == conversation_id, s.cancelled_at.is_(None), s.expires_at > now.astimezone(UTC),
            ).order_by(s.id)).all()
        return [(str(office), int(ticket)) for office, ticket in rows]

    def _read(self, now: datetime) -> tuple[OfficeState, ...]:
        directory = self._directory()
        day = now.astimezone(directory.zone()).date()
        since = (now - timedelta(minutes=self._settings.estimate_window_minutes)).astimezone(UTC)  # SQLite: UTC only
        c = t.tickets.c
        with self._sessions() as session:
            waiting = {(o, s): int(n) for o, s, n in session.execute(
                select(c.office, c.service, func.count()).where(c.day == day, c.status == TicketStatus.WAITING.value)
                .group_by(c.office, c.service)).all()}
            recent = session.execute(
                select(c.office, c.service, c.called_at, c.done_at, c.counter, c.status)
                .where(c.day == day, c.called_at >= since).order_by(c.called_at.desc())).all()
            windows = {(row.office, row.service): row for row in session.execute(select(t.services)).all()}
            counters = session.execute(select(t.counters.c.office, t.counters.c.service)
                                       .where(t.counters.c.open.is_(True))).all()
        rows: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for row in recent:
            rows[(row.office, row.service)].append(row)
        stale = timedelta(seconds=self._settings.stale_after_seconds)
        states = []
        for office_id in directory.ids():
            office = directory.get(office_id)
            assert office is not None
            services = []
            for service in office.services:
                window = windows.get((office_id, service))
                updated = _aware(window.updated_at) if window is not None else None
                available = updated is not None and now - updated <= stale
                open_counters = sum(1 for o, s in counters if o == office_id and s in (None, service))
                count = waiting.get((office_id, service), 0)
                activity = self._activity(rows[(office_id, service)], open_counters)
                minutes = expected_wait_minutes(count, activity, now) if available else None
                services.append(ServiceState(
                    service=service, waiting=count if available else None,
                    calling=window.calling if available and window is not None else None,
                    calling_counter=window.calling_counter if available and window is not None else None,
                    estimated_wait_minutes=rounded_minutes(minutes), updated_at=updated,
                    open_counters=open_counters, available=available))
            updated_at = max((s.updated_at for s in services if s.updated_at is not None), default=None)
            states.append(OfficeState(office=office_id, services=tuple(services),
                                      open=directory.is_open(office_id, now),
                                      available=any(s.available for s in services), updated_at=updated_at))
        return tuple(states)

    def _activity(self, rows: Sequence[Any], open_counters: int) -> WindowActivity:
        """A window's recent calls (newest first, rows of ``queue_tickets``) as the estimator reads them."""
        latest = rows[: self._settings.estimate_calls]
        seen = {row.counter for row in latest if row.counter}
        return WindowActivity(
            calls=[_aware(row.called_at) for row in latest],
            durations=[(_aware(row.done_at) - _aware(row.called_at)).total_seconds()
                       for row in latest if row.done_at is not None],
            counters=open_counters or len(seen),  # counters that report opening, else those seen calling
            busy=sum(1 for row in rows if row.status == TicketStatus.CALLED.value),
        )

    def estimate_for(self, office: str, service: str, ahead: int, now: datetime) -> int | None:
        """Whole minutes until a ticket with ``ahead`` tickets before it is called at ``office``'s ``service``."""
        directory = self._directory()
        day = now.astimezone(directory.zone()).date()
        since = (now - timedelta(minutes=self._settings.estimate_window_minutes)).astimezone(UTC)  # SQLite: UTC only
        c = t.tickets.c
        with self._sessions() as session:
            rows = session.execute(select(c.called_at, c.done_at, c.counter, c.status).where(
                c.office == office, c.service == service, c.day == day, c.called_at >= since)
                .order_by(c.called_at.desc())).all()
            open_counters = session.execute(select(func.count()).select_from(t.counters).where(
                t.counters.c.office == office, t.counters.c.open.is_(True),
                (t.counters.c.service == service) | t.counters.c.service.is_(None))).scalar_one()
        return rounded_minutes(expected_wait_minutes(ahead, self._activity(rows, int(open_counters)), now))


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes for timezone-aware columns: they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
