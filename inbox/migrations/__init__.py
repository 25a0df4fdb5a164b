"""Alembic owns the schema. ``upgrade(url)`` is what ``inbox migrate`` and ``inbox dev`` run.

To regenerate the initial migration after a model change (before the first release), run
``scripts/regen_migration.sh``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from inbox.db import make_engine
from inbox.search_index import MANAGED_NAMES

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Leave the full-text search objects out of autogenerate's comparison: the models cannot
    describe FTS5 virtual tables or trigram indexes, so they have a migration of their own
    (``0002_search_index``) and autogenerate would otherwise drop them."""
    return name not in MANAGED_NAMES


def alembic_config(database_url: str) -> Config:
    """The package's Alembic configuration, pointed at ``database_url``."""
    config = Config(str(ALEMBIC_INI))
    # Passed as an attribute, not as sqlalchemy.url, so a '%' in a password needs no escaping.
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database at ``database_url`` up to ``revision`` (default: the newest)."""
    command.upgrade(alembic_config(database_url), revision)


def head_revision() -> str | None:
    """The newest revision the code knows."""
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def current_revision(database_url: str) -> str | None:
    """The revision the database is at, or None for a database Alembic has never touched."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def downgrade(database_url: str, revision: str) -> None:
    """Take the database at ``database_url`` back to ``revision`` (``"base"`` drops everything)."""
    command.downgrade(alembic_config(database_url), revision)
