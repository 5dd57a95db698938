"""The staff desk: accounts and sessions, the handoff queue, notes, pushed messages, the translation memory.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create users, staff_sessions, handoff_notes, translation_memory; extend messages and handoff_requests."""
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("interprets", sa.JSON, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", _TIME),
        sa.Column("created_at", _TIME, nullable=False),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
    )
    op.create_table(
        "translation_memory",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(200), nullable=False),
        sa.Column("translated_text", sa.Text, nullable=False),
        sa.Column("hits", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("last_used_at", _TIME, nullable=False),
    )
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("out_of_turn", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL",
                                                                         name="fk_messages_user")))
    op.execute("UPDATE handoff_requests SET status = 'queued' WHERE status = 'requested'")
    with op.batch_alter_table("handoff_requests") as batch:
        batch.add_column(sa.Column("assigned_to", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL",
                                                                             name="fk_handoff_assigned_user")))
        batch.add_column(sa.Column("ticket", sa.String(16)))
        batch.add_column(sa.Column("callback_phone", sa.String(32)))
        batch.add_column(sa.Column("callback_message", sa.Text))
        batch.add_column(sa.Column("labels", sa.JSON, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("satisfaction", sa.Integer))
        batch.add_column(sa.Column("details", sa.JSON, nullable=False, server_default="{}"))
        batch.add_column(sa.Column("claimed_at", _TIME))
        batch.add_column(sa.Column("resolved_at", _TIME))
        batch.add_column(sa.Column("last_activity_at", _TIME, nullable=False, server_default=sa.func.now()))
        batch.create_index("ix_handoff_requests_status", ["status"])
    op.create_table(
        "handoff_notes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("handoff_id", sa.Integer, sa.ForeignKey("handoff_requests.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
    )


def downgrade() -> None:
    """Drop the desk's tables and columns."""
    op.drop_table("handoff_notes")
    with op.batch_alter_table("handoff_requests") as batch:
        batch.drop_index("ix_handoff_requests_status")
        for column in ("last_activity_at", "resolved_at", "claimed_at", "details", "satisfaction", "labels",
                       "callback_message", "callback_phone", "ticket"):
            batch.drop_column(column)
        batch.drop_constraint("fk_handoff_assigned_user", type_="foreignkey")
        batch.drop_column("assigned_to")
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint("fk_messages_user", type_="foreignkey")
        batch.drop_column("user_id")
        batch.drop_column("out_of_turn")
    op.drop_table("translation_memory")
    op.drop_table("staff_sessions")
    op.drop_table("users")
