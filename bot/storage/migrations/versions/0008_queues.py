"""Ward-office queues (``services.queue``): events, today's tickets, windows, counters, subscriptions, notices.

The tables mirror ``services/queue/tables.py`` (the core never imports a service, so they are
written out here). No personal data: a subscription names its conversation and a ticket number.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-09
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the queue tables."""
    op.create_table(
        "queue_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(160), nullable=False, unique=True),
        sa.Column("office", sa.String(32), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("ticket", sa.Integer),
        sa.Column("service", sa.String(64)),
        sa.Column("counter", sa.String(32)),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("received_at", _TIME, nullable=False),
    )
    op.create_index("ix_queue_events_received", "queue_events", ["received_at"])
    op.create_table(
        "queue_offices",
        sa.Column("office", sa.String(32), primary_key=True),
        sa.Column("updated_at", _TIME),
    )
    op.create_table(
        "queue_tickets",
        sa.Column("office", sa.String(32), primary_key=True),
        sa.Column("service", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("ticket", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("issued_at", _TIME, nullable=False),
        sa.Column("called_at", _TIME),
        sa.Column("counter", sa.String(32)),
        sa.Column("done_at", _TIME),
    )
    op.create_index("ix_queue_tickets_queue", "queue_tickets", ["office", "service", "day", "status", "issued_at"])
    op.create_index("ix_queue_tickets_number", "queue_tickets", ["office", "day", "ticket"])
    op.create_table(
        "queue_services",
        sa.Column("office", sa.String(32), primary_key=True),
        sa.Column("service", sa.String(64), primary_key=True),
        sa.Column("calling", sa.Integer),
        sa.Column("calling_counter", sa.String(32)),
        sa.Column("updated_at", _TIME, nullable=False),
    )
    op.create_table(
        "queue_counters",
        sa.Column("office", sa.String(32), primary_key=True),
        sa.Column("counter", sa.String(32), primary_key=True),
        sa.Column("service", sa.String(64)),
        sa.Column("open", sa.Boolean, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
    )
    op.create_table(
        "queue_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(100), nullable=False, unique=True),
        sa.Column("office", sa.String(32), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("ticket", sa.Integer, nullable=False),
        sa.Column("service", sa.String(64)),
        sa.Column("bot", sa.String(32), nullable=False),
        sa.Column("conversation_id", sa.String(32), sa.ForeignKey("conversations.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("route", sa.String(16), nullable=False),
        sa.Column("office_name", sa.String(200), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.Column("cancelled_at", _TIME),
    )
    op.create_index("ix_queue_subscriptions_ticket", "queue_subscriptions", ["office", "day", "ticket"])
    op.create_index("ix_queue_subscriptions_conversation", "queue_subscriptions", ["conversation_id"])
    op.create_table(
        "queue_notices",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.Integer, sa.ForeignKey("queue_subscriptions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("ahead", sa.Integer),
        sa.Column("counter", sa.String(32)),
        sa.Column("due_at", _TIME, nullable=False),
        sa.Column("claimed_until", _TIME),
        sa.Column("sent_at", _TIME),
        sa.Column("notification_id", sa.Integer),
        sa.UniqueConstraint("subscription_id", "stage", name="uq_queue_notice_stage"),
    )
    op.create_index("ix_queue_notices_pending", "queue_notices", ["sent_at", "due_at"])


def downgrade() -> None:
    """Drop what :func:`upgrade` created."""
    op.drop_index("ix_queue_notices_pending", "queue_notices")
    op.drop_table("queue_notices")
    op.drop_index("ix_queue_subscriptions_conversation", "queue_subscriptions")
    op.drop_index("ix_queue_subscriptions_ticket", "queue_subscriptions")
    op.drop_table("queue_subscriptions")
    op.drop_table("queue_counters")
    op.drop_table("queue_services")
    op.drop_index("ix_queue_tickets_number", "queue_tickets")
    op.drop_index("ix_queue_tickets_queue", "queue_tickets")
    op.drop_table("queue_tickets")
    op.drop_table("queue_offices")
    op.drop_index("ix_queue_events_received", "queue_events")
    op.drop_table("queue_events")
