"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from inbox import migrations
from inbox.db import make_engine
from inbox.models import Base
from tests.databases import fresh_database


@pytest.fixture
def fresh_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database(tmp_path) as url:
        yield url


def test_upgrade_head_matches_the_models(fresh_url: str) -> None:
    migrations.upgrade(fresh_url)

    engine = make_engine(fresh_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": migrations.include_object}
            )
            diff = compare_metadata(context, Base.metadata)
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert diff == [], "models and migrations differ; run scripts/regen_migration.sh"
    assert set(Base.metadata.tables) <= tables
    assert migrations.current_revision(fresh_url) == migrations.head_revision()


def test_upgrade_is_repeatable_and_downgrade_empties(fresh_url: str) -> None:
    migrations.upgrade(fresh_url)
    migrations.upgrade(fresh_url)  # a second run finds nothing to do

    migrations.downgrade(fresh_url, "base")

    engine = make_engine(fresh_url)
    try:
        with engine.connect() as conn:
            left = set(inspect(conn).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()
    assert left == set()
    assert migrations.current_revision(fresh_url) is None


def test_fresh_database_has_no_revision(fresh_url: str) -> None:
    assert migrations.current_revision(fresh_url) is None
    assert migrations.head_revision() is not None
