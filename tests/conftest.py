"""Shared fixtures: a database of the test run's own (see ``tests/databases.py`` for how the
backend is chosen), clean tables for every test, and factories for test data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from inbox.db import engine_for, make_session_factory
from inbox.models import Base, ComplianceSettings
from tests import factories
from tests.databases import fresh_database


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database that exists only for this test run."""
    with fresh_database(tmp_path_factory.mktemp("db"), prefix="inbox_test") as url:
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = engine_for(database_url)
    Base.metadata.create_all(engine)
    yield engine


@pytest.fixture
def sessions(engine: Engine, request: pytest.FixtureRequest) -> Iterator[sessionmaker[Session]]:
    """A session factory on empty tables (every table is emptied after each test).

    Without quiet hours unless the test is marked ``quiet_hours``: tests run at whatever hour
    CI runs them, and an automated text must not wait for 08:00 in a test about something else
    (the quiet-hours tests set the clock)."""
    factory = make_session_factory(engine)
    if request.node.get_closest_marker("quiet_hours") is None:
        with factory() as session:
            session.add(ComplianceSettings(id=1, quiet_start="00:00", quiet_end="00:00"))
            session.commit()
    yield factory
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
