"""Alembic environment: the models' metadata, the URL from the settings, batch mode on SQLite."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import JSON, pool
from sqlalchemy.types import TypeEngine

from inbox.db import make_engine
from inbox.migrations import include_object
from inbox.models import Base
from inbox.models.base import UTCDateTime
from inbox.settings import get_settings

config = context.config
target_metadata = Base.metadata


def _database_url() -> str:
    # `inbox migrate` and the tests hand the URL in; a bare `alembic -c inbox/alembic.ini ...`
    # falls back to the settings (INBOX_DATABASE_URL or the SQLite file in INBOX_DATA_DIR).
    url = config.attributes.get("database_url")
    return str(url) if url else get_settings().database_url


def _render_item(kind: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write the app's column types as plain SQLAlchemy types, so a migration never imports
    application code (which changes after the migration is written)."""
    if kind != "type":
        return False
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if isinstance(obj, JSON) and _has_jsonb_variant(obj):
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return "sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')"
    return False


def _has_jsonb_variant(type_: TypeEngine[Any]) -> bool:
    variants = getattr(type_, "_variant_mapping", {})
    return "postgresql" in variants


def _options(dialect_name: str) -> dict[str, Any]:
    return {
        "target_metadata": target_metadata,
        "compare_type": True,
        "render_item": _render_item,
        "include_object": include_object,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        "render_as_batch": dialect_name == "sqlite",
    }


def run_migrations_offline() -> None:
    """Print SQL instead of running it (`alembic upgrade head --sql`)."""
    url = _database_url()
    dialect = url.split(":", 1)[0].split("+", 1)[0]
    context.configure(url=url, literal_binds=True, **_options(dialect))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on a live connection."""
    engine = make_engine(_database_url(), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, **_options(connection.dialect.name))
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
