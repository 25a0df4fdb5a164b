"""What each automation action did to its conversation (the events its workflow applies), so a
retried action returns them.

Revision ID: 0004_rule_action_events
Revises: 0003_delivery_and_retention
Create Date: 2026-12-01 17:01:07.327773
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '0004_rule_action_events'
down_revision: str | Sequence[str] | None = '0003_delivery_and_retention'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('rule_actions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('events', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False, server_default='[]'))



def downgrade() -> None:
    with op.batch_alter_table('rule_actions', schema=None) as batch_op:
        batch_op.drop_column('events')

