"""The reporting table's daily roll-up (report_days), filled from the facts stored before it.

Revision ID: 0019_report_days
Revises: 0018_report_business
Create Date: 2026-12-02 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from inbox.reporting import days

# revision identifiers, used by Alembic.
revision: str = "0019_report_days"
down_revision: str | Sequence[str] | None = "0018_report_business"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    counters = [
        sa.Column(name, sa.Integer(), nullable=False, server_default="0")
        for name in days.COUNTERS.values()
    ]
    lists = [
        sa.Column(name, sa.Text(), nullable=False, server_default="") for name in days.LISTS
    ]
    op.create_table(
        "report_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("inbox_id", sa.Integer(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        *counters,
        *lists,
        sa.PrimaryKeyConstraint(*days.KEYS),
    )
    days.fill(op.get_bind())


def downgrade() -> None:
    op.drop_table("report_days")
