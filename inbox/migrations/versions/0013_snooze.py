"""Snooze: ``conversations.snoozed_until`` (a far-future time means "until the contact replies").

Revision ID: 0013_snooze
Revises: 0011_inbox_holidays
Create Date: 2026-12-01 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from inbox.search_index import create_search_index, drop_search_index

# revision identifiers, used by Alembic.
revision: str = "0013_snooze"
down_revision: str | Sequence[str] | None = "0011_inbox_holidays"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("snoozed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # SQLite drops a column by rebuilding the table, which its search triggers refer to: take
    # the search index down around it.
    drop_search_index(op.get_bind())
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("snoozed_until")
    create_search_index(op.get_bind())
