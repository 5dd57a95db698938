"""Delivery routes and batches, and the district a resident told us.

* ``deliveries.route``: the way a delivery reaches the resident (their conversation's channel, or
  ``email``); one delivery per notification, conversation and route.
* ``deliveries.batch``: the id of the bulk call (a LINE multicast of up to 500 recipients) a
  delivery belongs to once claimed; a retried call keeps its recipients and its retry key.
* ``conversation_states.district``: the district a resident named (e.g. for garbage days), so
  broadcasts can be addressed to districts.
* ``contacts``: another route a resident agreed to be notified on (an e-mail address, sealed),
  with the moment of consent and the token of the unsubscribe link.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the columns; existing deliveries take their conversation's channel as route."""
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("route", sa.String(16), nullable=False, server_default=""))
        batch.add_column(sa.Column("batch", sa.String(36)))
    op.execute("UPDATE deliveries SET route = (SELECT channel FROM conversations "
               "WHERE conversations.id = deliveries.conversation_id)")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint("uq_delivery_recipient", type_="unique")
        batch.create_unique_constraint("uq_delivery_recipient", ["notification_id", "conversation_id", "route"])
        batch.create_index("ix_deliveries_batch", ["batch"])
    with op.batch_alter_table("conversation_states") as batch:
        batch.add_column(sa.Column("district", sa.String(32)))
    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(32), sa.ForeignKey("conversations.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("route", sa.String(16), nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("language", sa.String(16)),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True)),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("conversation_id", "route", name="uq_contact_route"),
    )


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    op.drop_table("contacts")
    with op.batch_alter_table("conversation_states") as batch:
        batch.drop_column("district")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index("ix_deliveries_batch")
        batch.drop_constraint("uq_delivery_recipient", type_="unique")
        batch.create_unique_constraint("uq_delivery_recipient", ["notification_id", "conversation_id"])
        batch.drop_column("batch")
        batch.drop_column("route")
