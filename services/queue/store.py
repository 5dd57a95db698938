"""Writes of the queue service: events applied to today's tickets, subscriptions, and due notices.

An event is applied in one transaction that first locks its office's row (``queue_offices``), so
one office's events apply one at a time on every server (PostgreSQL row lock; SQLite has one
writer): the event's key is looked up, the tickets and windows change, and the notices the event
makes due are inserted, each claimed by the caller (who hands them to the notification service
right after the commit). A notice whose sender died is claimed again by :meth:`QueueStore.claim_pending`
once the claim ran out; one notice per subscription and stage can ever exist.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.live import mark
from services.queue import tables as t
from services.queue.types import (
    DueNotice,
    NoticeRoute,
    NoticeStage,
    QueueEvent,
    QueueEventType,
    Subscribed,
    TicketStatus,
)

#: How long a sender may take to hand a claimed notice to the notification service.
CLAIM_SECONDS = 60.0
#: The ``bot.live`` topic published after every applied event (status pages watch it).
QUEUES_TOPIC = "queues"
#: Events are kept this long (the window in which a resent event is recognised).
KEEP_EVENTS = timedelta(days=7)


class QueueStore:
    """The queue tables (see the module docstring)."""

    def __init__(self, sessions: sessionmaker[Session], zone: Callable[[], ZoneInfo]) -> None:
        """``zone()``: the city's time zone (read when needed: the profile may be reloaded)."""
        self._sessions = sessions
        self._zone = zone

    def day_of(self, moment: datetime) -> date:
        """The city's calendar day of ``moment`` (tickets start again every day)."""
        return moment.astimezone(self._zone()).date()

    def ensure_offices(self, office_ids: Sequence[str]) -> None:
        """Create the lock row of every office (idempotent; several servers may do it at once)."""
        for office in office_ids:
            try:
                with self._sessions.begin() as session:
                    if session.execute(select(t.offices.c.office).where(t.offices.c.office == office)).first() is None:
                        session.execute(insert(t.offices).values(office=office))
            except IntegrityError:
                continue  # another server made it first

    # --- events -----------------------------------------------------------------------------

    def apply(self, events: Sequence[QueueEvent], services: Sequence[str], now: datetime, ahead: int,
              ) -> tuple[list[bool], list[DueNotice]]:
        """Apply one office's ``events`` (in order), each once, in one transaction.

        Returns whether each was a duplicate, and the notices they made due (claimed by the caller).
        ``services``: the office's windows (counter and reset events without a window concern them all).
        Few statements per event: a window's line is looked at again, once, only when a waiting ticket left it.
        """
        if len({event.office for event in events}) > 1:
            raise ValueError("one office's events at a time")
        events = [replace(event, at=_utc(event.at)) for event in events]  # SQLite keeps no offsets: UTC only
        now = _utc(now)
        for attempt in (1, 2):
            try:
                with self._sessions.begin() as session:
                    return self._apply(session, events, services, now, ahead)
            except IntegrityError:  # a concurrent first insert (an office or window row): once more
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _apply(self, session: Session, events: Sequence[QueueEvent], services: Sequence[str], now: datetime,
               ahead: int) -> tuple[list[bool], list[DueNotice]]:
        if not events:
            return [], []
        office = events[0].office
        self._lock(session, office, now)
        duplicates: list[bool] = []
        due: list[int] = []
        touched: dict[str, QueueEvent] = {}  # window → its last event (the number it calls now)
        moved: set[tuple[str, date]] = set()  # windows whose line changed (a waiting ticket left or joined)
        for event in events:
            if not _insert_new(session, t.events, ["key"], key=event.key(), office=event.office,
                               type=event.type.value, ticket=event.ticket, service=event.service,
                               counter=event.counter, at=event.at, received_at=now):
                duplicates.append(True)
                continue
            duplicates.append(False)
            day = self.day_of(event.at)
            if event.type is QueueEventType.ISSUED:
                changed = self._issued(session, event, day)
            elif event.type is QueueEventType.CALLED:
                changed = self._called(session, event, day)
                due += self._subscribers_due(session, event, day, now)
            elif event.type is QueueEventType.SERVED:
                changed = self._served(session, event, day)
            elif event.type is QueueEventType.RESET:
                changed = self._reset(session, event, now)
            else:
                changed = self._counter(session, event, now)
            for service in [event.service] if event.service else list(services):
                if event.type is QueueEventType.CALLED or service not in touched:
                    touched[service] = event
                if changed:
                    moved.add((service, day))
        if touched:
            mark(session, QUEUES_TOPIC)  # status pages look again once this commits
        for service, event in touched.items():
            self._touch(session, office, service, now, event)
        for service, day in sorted(moved):
            due += self._near(session, office, service, day, ahead, now)
        return duplicates, self._notices(session, due)

    def _lock(self, session: Session, office: str, now: datetime) -> None:
        locked = session.execute(update(t.offices).where(t.offices.c.office == office).values(updated_at=now))
        if locked.rowcount == 0:  # type: ignore[attr-defined]
            session.execute(insert(t.offices).values(office=office, updated_at=now))

    def _where_ticket(self, event: QueueEvent, day: date, status: TicketStatus | None = None) -> Any:
        c = t.tickets.c
        where = and_(c.office == event.office, c.service == event.service, c.day == day, c.ticket == event.ticket)
        return where if status is None else and_(where, c.status == status.value)

    def _issued(self, session: Session, event: QueueEvent, day: date) -> bool:
        """The ticket joins the line; True when a subscriber was waiting for its number to appear."""
        _insert_new(session, t.tickets, ["office", "service", "day", "ticket"], office=event.office,
                    service=event.service, day=day, ticket=event.ticket, status=TicketStatus.WAITING.value,
                    issued_at=event.at)
        s = t.subscriptions.c
        linked = session.execute(update(t.subscriptions).where(
            s.office == event.office, s.day == day, s.ticket == event.ticket, s.service.is_(None),
        ).values(service=event.service))
        return bool(linked.rowcount)  # type: ignore[attr-defined]

    def _called(self, session: Session, event: QueueEvent, day: date) -> bool:
        """The ticket is called (again); True when it left the line."""
        values = {"status": TicketStatus.CALLED.value, "counter": event.counter}
        left = session.execute(update(t.tickets).where(self._where_ticket(event, day, TicketStatus.WAITING))
                               .values(called_at=event.at, **values))
        if left.rowcount:  # type: ignore[attr-defined]
            return True
        again = session.execute(update(t.tickets).where(self._where_ticket(event, day, TicketStatus.CALLED))
                                .values(**values))
        if not again.rowcount and session.execute(  # type: ignore[attr-defined]
                select(t.tickets.c.status).where(self._where_ticket(event, day))).first() is None:
            # its "issued" never came: it still counts as called
            session.execute(insert(t.tickets).values(office=event.office, service=event.service, day=day,
                                                     ticket=event.ticket, issued_at=event.at, called_at=event.at,
                                                     **values))
        return False

    def _subscribers_due(self, session: Session, event: QueueEvent, day: date, now: datetime) -> list[int]:
        """The called ticket's subscribers not told yet: their "called" notices."""
        s = t.subscriptions.c
        subscribers = session.execute(select(s.id).where(
            s.office == event.office, s.day == day, s.ticket == event.ticket,
            or_(s.service == event.service, s.service.is_(None)), s.cancelled_at.is_(None), s.expires_at > now,
            ~_has_notice(NoticeStage.CALLED),
        )).scalars().all()
        return [self._due(session, sid, NoticeStage.CALLED, now, counter=event.counter) for sid in subscribers]

    def _served(self, session: Session, event: QueueEvent, day: date) -> bool:
        """The attendance ended; True when the ticket left the line without a call (cancelled at the window)."""
        values = {"status": TicketStatus.DONE.value, "done_at": event.at}
        ended = session.execute(update(t.tickets).where(self._where_ticket(event, day, TicketStatus.CALLED))
                                .values(**values))
        if ended.rowcount:  # type: ignore[attr-defined]
            return False
        left = session.execute(update(t.tickets).where(self._where_ticket(event, day, TicketStatus.WAITING))
                               .values(**values))
        return bool(left.rowcount)  # type: ignore[attr-defined]

    def _reset(self, session: Session, event: QueueEvent, now: datetime) -> bool:
        where_service = [] if event.service is None else [t.tickets.c.service == event.service]
        session.execute(delete(t.tickets).where(t.tickets.c.office == event.office, *where_service))
        s = t.subscriptions.c
        mine = [] if event.service is None else [or_(s.service == event.service, s.service.is_(None))]
        session.execute(update(t.subscriptions).where(s.office == event.office, s.cancelled_at.is_(None), *mine)
                        .values(cancelled_at=now))
        w = t.services.c
        session.execute(update(t.services).where(
            w.office == event.office, *([] if event.service is None else [w.service == event.service]),
        ).values(calling=None, calling_counter=None))
        return False  # the lines are empty: nobody is near

    def _counter(self, session: Session, event: QueueEvent, now: datetime) -> bool:
        values = {"service": event.service, "open": event.type is QueueEventType.COUNTER_OPEN, "updated_at": now}
        changed = session.execute(update(t.counters).where(
            t.counters.c.office == event.office, t.counters.c.counter == (event.counter or "")).values(**values))
        if changed.rowcount == 0:  # type: ignore[attr-defined]
            session.execute(insert(t.counters).values(office=event.office, counter=event.counter or "", **values))
        return False  # a counter opening or closing moves nobody in the line

    def _touch(self, session: Session, office: str, service: str, now: datetime, event: QueueEvent) -> None:
        values: dict[str, Any] = {"updated_at": now}
        if event.type is QueueEventType.CALLED and event.service == service:
            values.update(calling=event.ticket, calling_counter=event.counter)
        changed = session.execute(update(t.services).where(
            t.services.c.office == office, t.services.c.service == service).values(**values))
        if changed.rowcount == 0:  # type: ignore[attr-defined]
            session.execute(insert(t.services).values(office=office, service=service, **values))

    def _near(self, session: Session, office: str, service: str, day: date, ahead: int, now: datetime) -> list[int]:
        """Subscribers with ``ahead`` or fewer waiting tickets before theirs, not told yet: due now."""
        c = t.tickets.c
        front = session.execute(
            select(c.ticket).where(c.office == office, c.service == service, c.day == day,
                                   c.status == TicketStatus.WAITING.value)
            .order_by(c.issued_at, c.ticket).limit(ahead + 1)
        ).scalars().all()
        if not front:
            return []
        s = t.subscriptions.c
        rows = session.execute(select(s.id, s.ticket).where(
            s.office == office, s.day == day, s.ticket.in_(front), s.service == service, s.cancelled_at.is_(None),
            s.expires_at > now, ~_has_notice(NoticeStage.NEAR))).all()
        position = {ticket: index for index, ticket in enumerate(front)}
        return [self._due(session, sid, NoticeStage.NEAR, now, ahead=position[ticket]) for sid, ticket in rows]

    # --- subscriptions ----------------------------------------------------------------------

    def subscribe(self, *, key: str, office: str, ticket: int, bot: str, conversation_id: str, route: NoticeRoute,
                  office_name: str, now: datetime, expires_at: datetime, ahead: int, told_near: bool = False,
                  ) -> Subscribed:
        """Subscribe a conversation to a ticket of today (idempotent by ``key``, the effect's key).

        A ticket already called gets no subscription. A ticket with ``ahead`` or fewer before it gets
        its "near" notice at once (claimed by the caller), unless ``told_near``: the chat's answer
        already said so. A resident's earlier subscription to the same ticket is replaced.
        """
        now, expires_at = _utc(now), _utc(expires_at)
        day = self.day_of(now)
        s = t.subscriptions.c
        with self._sessions.begin() as session:
            self._lock(session, office, now)
            existing = session.execute(select(s.id).where(s.key == key)).scalar()
            if existing is not None:
                return Subscribed(existing, ahead=None)
            c = t.tickets.c
            row = session.execute(select(t.tickets).where(c.office == office, c.day == day, c.ticket == ticket)
                                  .order_by(c.issued_at.desc()).limit(1)).first()
            if row is not None and row.status != TicketStatus.WAITING:
                return Subscribed(None, already_called=True)
            session.execute(update(t.subscriptions).where(
                s.conversation_id == conversation_id, s.office == office, s.day == day, s.ticket == ticket,
                s.cancelled_at.is_(None)).values(cancelled_at=now))
            subscription_id = session.execute(insert(t.subscriptions).values(
                key=key, office=office, day=day, ticket=ticket, service=row.service if row is not None else None,
                bot=bot, conversation_id=conversation_id, route=route.value, office_name=office_name[:200],
                created_at=now, expires_at=expires_at).returning(s.id)).scalar_one()
            if row is None:
                return Subscribed(subscription_id)
            before = session.execute(select(func.count()).select_from(t.tickets).where(
                c.office == office, c.service == row.service, c.day == day, c.status == TicketStatus.WAITING.value,
                tuple_(c.issued_at, c.ticket) < tuple_(row.issued_at, row.ticket))).scalar_one()
            due = []
            if before <= ahead:
                notice = self._due(session, subscription_id, NoticeStage.NEAR, now, ahead=before)
                if told_near:  # nothing to send: recorded so that no later event sends it again
                    session.execute(update(t.notices).where(t.notices.c.id == notice)
                                    .values(sent_at=now, claimed_until=None))
                else:
                    due.append(notice)
            return Subscribed(subscription_id, ahead=int(before), due=tuple(self._notices(session, due)))

    def cancel(self, conversation_id: str, now: datetime) -> list[tuple[str, int]]:
        """Cancel the conversation's active subscriptions; returns their (office, ticket)."""
        now = _utc(now)
        s = t.subscriptions.c
        active = and_(s.conversation_id == conversation_id, s.cancelled_at.is_(None), s.expires_at > now)
        with self._sessions.begin() as session:
            rows = session.execute(select(s.office, s.ticket).where(active)).all()
            session.execute(update(t.subscriptions).where(active).values(cancelled_at=now))
            return [(str(office), int(ticket)) for office, ticket in rows]

    # --- notices ----------------------------------------------------------------------------

    def _due(self, session: Session, subscription_id: int, stage: NoticeStage, now: datetime, *,
             ahead: int | None = None, counter: str | None = None) -> int:
        claimed = now + timedelta(seconds=CLAIM_SECONDS)
        return int(session.execute(insert(t.notices).values(
            subscription_id=subscription_id, stage=stage.value, ahead=ahead, counter=counter, due_at=now,
            claimed_until=claimed).returning(t.notices.c.id)).scalar_one())

    def _notices(self, session: Session, notice_ids: Sequence[int]) -> list[DueNotice]:
        if not notice_ids:
            return []
        n, s = t.notices.c, t.subscriptions.c
        rows = session.execute(
            select(n.id, n.stage, n.ahead, n.counter, s.route, s.bot, s.conversation_id, s.office, s.office_name,
                   s.ticket).join(t.subscriptions, s.id == n.subscription_id)
            .where(n.id.in_(list(notice_ids))).order_by(n.id)).all()
        return [DueNotice(id=row[0], stage=NoticeStage(row[1]), ahead=row[2], counter=row[3],
                          route=NoticeRoute(row[4]), bot=row[5], conversation_id=row[6], office=row[7],
                          office_name=row[8], ticket=row[9]) for row in rows]

    def claim_pending(self, now: datetime, limit: int = 100) -> list[DueNotice]:
        """Notices due but not handed over whose claim ran out (a sender died): claimed now for the caller."""
        now = _utc(now)
        n = t.notices.c
        free = and_(n.sent_at.is_(None), or_(n.claimed_until.is_(None), n.claimed_until < now))
        with self._sessions.begin() as session:
            ids = session.execute(select(n.id).where(free).order_by(n.id).limit(limit)).scalars().all()
            claimed = [nid for nid in ids if session.execute(update(t.notices).where(n.id == nid, free).values(
                claimed_until=now + timedelta(seconds=CLAIM_SECONDS))).rowcount == 1]  # type: ignore[attr-defined]
            return self._notices(session, claimed)

    def mark_sent(self, notice_id: int, notification_id: int | None, now: datetime) -> None:
        """The notification service has the notice (``notification_id`` None: nothing to send any more)."""
        now = _utc(now)
        with self._sessions.begin() as session:
            session.execute(update(t.notices).where(t.notices.c.id == notice_id)
                            .values(sent_at=now, notification_id=notification_id, claimed_until=None))

    def release(self, notice_id: int) -> None:
        """Give a claimed notice back (sending failed): the next drain tries again."""
        with self._sessions.begin() as session:
            session.execute(update(t.notices).where(t.notices.c.id == notice_id, t.notices.c.sent_at.is_(None))
                            .values(claimed_until=None))

    def purge(self, now: datetime) -> None:
        """Forget old events, earlier days' tickets and subscriptions that ended over a day ago."""
        now = _utc(now)
        with self._sessions.begin() as session:
            session.execute(delete(t.events).where(t.events.c.received_at < now - KEEP_EVENTS))
            session.execute(delete(t.tickets).where(t.tickets.c.day < self.day_of(now) - timedelta(days=1)))
            old = select(t.subscriptions.c.id).where(t.subscriptions.c.expires_at < now - timedelta(days=1))
            session.execute(delete(t.notices).where(t.notices.c.subscription_id.in_(old)))
            session.execute(delete(t.subscriptions).where(t.subscriptions.c.expires_at < now - timedelta(days=1)))


def _utc(moment: datetime) -> datetime:
    """An aware datetime in UTC (the tables hold UTC only: SQLite keeps no offset)."""
    if moment.tzinfo is None:
        raise ValueError("queue times must be timezone-aware")
    return moment.astimezone(UTC)


def _has_notice(stage: NoticeStage) -> Any:
    """Whether the subscription of the enclosing query already has its ``stage`` notice (a correlated EXISTS)."""
    n = t.notices.c
    return select(n.id).where(n.subscription_id == t.subscriptions.c.id, n.stage == stage.value).exists()


def _insert_new(session: Session, table: Any, unique: list[str], **values: Any) -> bool:
    """Insert a row unless one with the same ``unique`` columns exists; True when inserted (one statement)."""
    dialect = session.get_bind().dialect.name
    statement: Any
    if dialect == "postgresql":
        statement = postgresql_insert(table)
    elif dialect == "sqlite":
        statement = sqlite_insert(table)
    else:  # pragma: no cover - the two databases Yorisoi runs on
        raise NotImplementedError(dialect)
    # RETURNING tells whether a row was written (rowcount is -1 on PostgreSQL's implicit RETURNING)
    inserted = session.execute(statement.values(**values).on_conflict_do_nothing(index_elements=unique)
                               .returning(table.c[unique[0]]))
    return inserted.first() is not None
