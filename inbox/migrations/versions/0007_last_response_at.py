"""The last reply a person sent in a conversation (``last_response_at``), so the lists can mark
a conversation whose contact still awaits a reply. Existing conversations start without it and
get it with their next human reply.

Revision ID: 0007_last_response_at
Revises: 0006_sessions_and_key_scopes
Create Date: 2026-12-01 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from inbox.search_index import create_search_index, drop_search_index

# revision identifiers, used by Alembic.
revision: str = "0007_last_response_at"
down_revision: str | Sequence[str] | None = "0006_sessions_and_key_scopes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.add_column(sa.Column("last_response_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    # SQLite drops a column by rebuilding the table, which its search triggers refer to: take
    # the search index down around it.
    drop_search_index(op.get_bind())
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_column("last_response_at")
    create_search_index(op.get_bind())
