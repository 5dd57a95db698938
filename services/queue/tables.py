"""The queue service's tables (created by migration ``0008`` in ``bot/storage/migrations``).

Only :mod:`services.queue.store` reads and writes them. No resident's name, phone or e-mail is
stored: a subscription holds the conversation it notifies and the ticket number.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

metadata = MetaData()
_TIME = DateTime(timezone=True)

#: Every event received, once: ``key`` is (office, type, ticket, at) (see ``QueueEvent.key``).
events = Table(
    "queue_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(160), nullable=False, unique=True),
    Column("office", String(32), nullable=False),
    Column("type", String(16), nullable=False),
    Column("ticket", Integer),
    Column("service", String(64)),
    Column("counter", String(32)),
    Column("at", _TIME, nullable=False),
    Column("received_at", _TIME, nullable=False),
    Index("ix_queue_events_received", "received_at"),
)

#: One row per office: locked while an event is applied, so one office's events apply one at a time.
offices = Table(
    "queue_offices", metadata,
    Column("office", String(32), primary_key=True),
    Column("updated_at", _TIME),
)

#: Today's tickets (``day`` in the city's time zone): waiting → called → done.
tickets = Table(
    "queue_tickets", metadata,
    Column("office", String(32), primary_key=True),
    Column("service", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("ticket", Integer, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("issued_at", _TIME, nullable=False),
    Column("called_at", _TIME),
    Column("counter", String(32)),
    Column("done_at", _TIME),
    Index("ix_queue_tickets_queue", "office", "service", "day", "status", "issued_at"),
    Index("ix_queue_tickets_number", "office", "day", "ticket"),
)

#: The live state of a window besides its counts: the number being called and when data last came.
services = Table(
    "queue_services", metadata,
    Column("office", String(32), primary_key=True),
    Column("service", String(64), primary_key=True),
    Column("calling", Integer),
    Column("calling_counter", String(32)),
    Column("updated_at", _TIME, nullable=False),
)

#: Counters (windows' desks) open or closed; ``service`` None: the counter serves every window.
counters = Table(
    "queue_counters", metadata,
    Column("office", String(32), primary_key=True),
    Column("counter", String(32), primary_key=True),
    Column("service", String(64)),
    Column("open", Boolean, nullable=False),
    Column("updated_at", _TIME, nullable=False),
)

#: "Tell me when my number is near": one per effect (``key``), until closing time (``expires_at``).
subscriptions = Table(
    "queue_subscriptions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(100), nullable=False, unique=True),
    Column("office", String(32), nullable=False),
    Column("day", Date, nullable=False),
    Column("ticket", Integer, nullable=False),
    #: Known once the ticket's ``issued`` event came (a resident names the office and the number only).
    Column("service", String(64)),
    Column("bot", String(32), nullable=False),
    Column("conversation_id", String(32), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    Column("route", String(16), nullable=False),
    #: The office's name in the resident's language when they subscribed (notices quote it).
    Column("office_name", String(200), nullable=False),
    Column("created_at", _TIME, nullable=False),
    Column("expires_at", _TIME, nullable=False),
    Column("cancelled_at", _TIME),
    Index("ix_queue_subscriptions_ticket", "office", "day", "ticket"),
    Index("ix_queue_subscriptions_conversation", "conversation_id"),
)

#: A notice that became due (at most one per subscription and stage), until the notification service has it.
notices = Table(
    "queue_notices", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscription_id", Integer, ForeignKey("queue_subscriptions.id", ondelete="CASCADE"), nullable=False),
    Column("stage", String(16), nullable=False),
    Column("ahead", Integer),
    Column("counter", String(32)),
    Column("due_at", _TIME, nullable=False),
    #: Claimed by a process sending it until then (a crashed sender's claim runs out).
    Column("claimed_until", _TIME),
    Column("sent_at", _TIME),
    Column("notification_id", Integer),
    UniqueConstraint("subscription_id", "stage", name="uq_queue_notice_stage"),
    Index("ix_queue_notices_pending", "sent_at", "due_at"),
)
