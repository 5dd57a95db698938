"""Conversations remember whether the resident still follows the channel.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add conversations.active (true for existing rows)."""
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()))


def downgrade() -> None:
    """Drop conversations.active."""
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("active")
