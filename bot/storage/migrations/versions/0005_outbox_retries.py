"""Outbox retries: when a pending push may be tried again, and until when a ``sending`` claim holds.

Outbound messages reuse ``attempts`` (push attempts; also the claim's fencing token) and ``error``
(why the last attempt failed, or why the message was given up).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-09
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``messages.retry_at``."""
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("retry_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    """Drop ``messages.retry_at``."""
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("retry_at")
