"""Shared fixtures: a database of the test run's own (SQLite file or a fresh PostgreSQL database),
clean tables for every test, and factories for test data.

``INBOX_TEST_DATABASE`` chooses the backend: ``sqlite`` (default) or ``postgresql``; the server
for the latter is ``INBOX_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from inbox.db import make_engine, make_session_factory
from inbox.models import Base
from tests import factories

BACKEND = os.environ.get("INBOX_TEST_DATABASE", "sqlite")
POSTGRES_SERVER = os.environ.get("INBOX_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")


def _postgres_admin() -> Engine:
    url = f"{POSTGRES_SERVER}/postgres".replace("postgresql://", "postgresql+psycopg://", 1)
    return create_engine(url, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database that exists only for this test run."""
    if BACKEND == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "inbox.db"
        yield f"sqlite:///{path}"
        return
    if BACKEND != "postgresql":
        raise RuntimeError(f"INBOX_TEST_DATABASE must be sqlite or postgresql, not {BACKEND!r}")
    name = f"inbox_test_{uuid.uuid4().hex[:12]}"
    admin = _postgres_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{POSTGRES_SERVER}/{name}"
    finally:
        from inbox.db import _engines

        for url, engine in list(_engines.items()):
            if url.endswith(f"/{name}"):
                engine.dispose()
                del _engines[url]
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    from inbox.db import engine_for

    engine = engine_for(database_url)
    Base.metadata.create_all(engine)
    yield engine


@pytest.fixture
def sessions(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """A session factory on empty tables (every table is emptied after each test)."""
    yield make_session_factory(engine)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as session:
        yield session


@pytest.fixture
def factory(session: Session) -> factories.Factory:
    return factories.Factory(session)


__all__ = ["make_engine"]
