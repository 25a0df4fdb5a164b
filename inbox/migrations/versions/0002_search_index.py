"""full-text search index (SQLite FTS5 with triggers; PostgreSQL pg_trgm GIN indexes)

Revision ID: 0002_search_index
Revises: 0001_initial

Kept apart from 0001_initial because autogenerate cannot describe these objects (env.py leaves
them out of its comparison). The DDL is in ``inbox.search_index``, shared with the tests'
``create_all``, so both build the same index.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from inbox.search_index import create_search_index, drop_search_index

revision: str = "0002_search_index"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_search_index(op.get_bind())


def downgrade() -> None:
    drop_search_index(op.get_bind())
