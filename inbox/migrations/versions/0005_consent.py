"""SMS consent per number (states, records, settings), held and blocked messages, consent
replies per channel, the possible opt-out on a conversation.

Revision ID: 0005_consent
Revises: 0004_rule_action_events
Create Date: 2026-12-01 18:08:09.032938
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from inbox.search_index import create_search_index, drop_search_index

# revision identifiers, used by Alembic.
revision: str = '0005_consent'
down_revision: str | Sequence[str] | None = '0004_rule_action_events'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('compliance_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opt_out_words', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('opt_in_words', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('help_words', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('quiet_start', sa.String(length=5), nullable=False),
    sa.Column('quiet_end', sa.String(length=5), nullable=False),
    sa.Column('state_windows', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('automated_per_day', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_settings'))
    )
    op.create_table('consent_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('keyword', sa.String(length=64), nullable=True),
    sa.Column('channel_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_consent_records_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_consent_records_channel_id_channels'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_consent_records_contact_id_contacts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_consent_records_message_id_messages'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_records'))
    )
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_records_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_consent_records_number', ['number', 'id'], unique=False)

    op.create_table('consent_states',
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('opted_out', sa.Boolean(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('keyword', sa.String(length=64), nullable=True),
    sa.Column('channel_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_consent_states_channel_id_channels'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_consent_states_message_id_messages'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_consent_states'))
    )
    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_replies', sa.String(length=16), nullable=False, server_default='app'))
        batch_op.add_column(sa.Column('opt_out_reply', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('opt_in_reply', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('help_reply', sa.Text(), nullable=False, server_default=''))

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('possible_opt_out_message_id', sa.Integer(), nullable=True))

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('purpose', sa.String(length=16), nullable=False, server_default=''))



def downgrade() -> None:
    # SQLite drops a column by rebuilding the table, which its search triggers refer to: take
    # the search index down around it.
    drop_search_index(op.get_bind())
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('purpose')
        batch_op.drop_column('held_until')

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('possible_opt_out_message_id')

    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.drop_column('help_reply')
        batch_op.drop_column('opt_in_reply')
        batch_op.drop_column('opt_out_reply')
        batch_op.drop_column('consent_replies')
    create_search_index(op.get_bind())

    op.drop_table('consent_states')
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_records_number')
        batch_op.drop_index(batch_op.f('ix_consent_records_created_at'))

    op.drop_table('consent_records')
    op.drop_table('compliance_settings')
