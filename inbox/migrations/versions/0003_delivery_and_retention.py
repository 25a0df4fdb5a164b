"""Early status reports (delivery callbacks that came before their message's provider id), and
indexes to prune rule runs and action records by age.

Revision ID: 0003_delivery_and_retention
Revises: 0002_search_index
Create Date: 2026-11-27 15:56:15.928568
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0003_delivery_and_retention'
down_revision: str | Sequence[str] | None = '0002_search_index'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('early_status_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('provider_message_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('error_code', sa.String(length=32), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_early_status_reports'))
    )
    with op.batch_alter_table('early_status_reports', schema=None) as batch_op:
        batch_op.create_index('ix_early_status_reports_message', ['provider', 'provider_message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_early_status_reports_received_at'), ['received_at'], unique=False)

    with op.batch_alter_table('rule_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rule_actions_created_at'), ['created_at'], unique=False)

    with op.batch_alter_table('rule_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rule_runs_created_at'), ['created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('rule_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rule_runs_created_at'))

    with op.batch_alter_table('rule_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rule_actions_created_at'))

    with op.batch_alter_table('early_status_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_early_status_reports_received_at'))
        batch_op.drop_index('ix_early_status_reports_message')

    op.drop_table('early_status_reports')
