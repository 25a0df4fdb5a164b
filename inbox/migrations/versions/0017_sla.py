"""SLA policies: per-inbox targets (``inboxes.sla_*``) and each conversation's running deadline
due first (``conversations.sla_*``, for the list's "due soonest" order and badge).

Revision ID: 0017_sla
Revises: 0015_reports
Create Date: 2026-12-02 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0017_sla"
down_revision: str | Sequence[str] | None = "0015_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE … ADD COLUMN, no batch rebuild: with rows in place SQLite refuses to
    # drop and recreate ``inboxes`` (other tables' foreign keys point at it).
    op.add_column("inboxes", sa.Column("sla_first_response_minutes", sa.Integer(), nullable=True))
    op.add_column("inboxes", sa.Column("sla_next_response_minutes", sa.Integer(), nullable=True))
    op.add_column("inboxes", sa.Column("sla_resolution_minutes", sa.Integer(), nullable=True))
    op.add_column(
        "inboxes",
        sa.Column("sla_business_hours", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("conversations", sa.Column("sla_target", sa.String(32), nullable=True))
    op.add_column(
        "conversations", sa.Column("sla_at_risk_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "conversations", sa.Column("sla_due_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index("ix_conversations_sla_due_at", "conversations", ["sla_due_at"])


def downgrade() -> None:
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+ has it): a batch rebuild of ``inboxes``
    # would drop a table other tables' foreign keys point at, which SQLite refuses.
    op.drop_index("ix_conversations_sla_due_at", table_name="conversations")
    for table, column in [
        ("conversations", "sla_due_at"),
        ("conversations", "sla_at_risk_at"),
        ("conversations", "sla_target"),
        ("inboxes", "sla_business_hours"),
        ("inboxes", "sla_resolution_minutes"),
        ("inboxes", "sla_next_response_minutes"),
        ("inboxes", "sla_first_response_minutes"),
    ]:
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
