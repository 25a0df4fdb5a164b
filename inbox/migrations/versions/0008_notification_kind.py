"""Notifications say where they came from (``kind``: a rule, an @mention, a possible opt-out,
an SLA deadline …) for the notification centre and the API. Rows that exist are classified
by what wrote them: a rule's notify names its rule; the one other writer so far was the
possible opt-out flag.

Revision ID: 0008_notification_kind
Revises: 0007_last_response_at
Create Date: 2026-12-01 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008_notification_kind"
down_revision: str | Sequence[str] | None = "0007_last_response_at"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=32), server_default="other", nullable=False)
        )
    op.execute("UPDATE notifications SET kind = 'rule' WHERE automation IS NOT NULL")
    op.execute("UPDATE notifications SET kind = 'possible_opt_out' WHERE automation IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("kind")
