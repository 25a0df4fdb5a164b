"""Alembic owns the schema. ``upgrade(url)`` is what ``inbox migrate`` and ``inbox dev`` run.

To regenerate the initial migration after a model change (before the first release), run
``scripts/regen_migration.sh``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from inbox.db import make_engine

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


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
