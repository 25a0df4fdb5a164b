"""Databases of the test run's own: a SQLite file, or a PostgreSQL database created for the
purpose and dropped afterwards.

``INBOX_TEST_DATABASE`` chooses the backend: ``sqlite`` (default) or ``postgresql``; the server
for the latter is ``INBOX_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

BACKEND = os.environ.get("INBOX_TEST_DATABASE", "sqlite")
POSTGRES_SERVER = os.environ.get("INBOX_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")


def _postgres_admin() -> Engine:
    url = f"{POSTGRES_SERVER}/postgres".replace("postgresql://", "postgresql+psycopg://", 1)
    return create_engine(url, isolation_level="AUTOCOMMIT")


@contextmanager
def fresh_database(folder: Path, prefix: str = "inbox_fresh") -> Iterator[str]:
    """Yield the URL of a new empty database (a SQLite file in ``folder`` or a PostgreSQL
    database of its own), dropped afterwards."""
    if BACKEND == "sqlite":
        yield f"sqlite:///{folder / f'{prefix}-{uuid.uuid4().hex[:8]}.db'}"
        return
    if BACKEND != "postgresql":
        raise RuntimeError(f"INBOX_TEST_DATABASE must be sqlite or postgresql, not {BACKEND!r}")
    with postgres_database(prefix) as url:
        yield url


@contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """A new PostgreSQL database named after ``prefix``, dropped afterwards (with the app's
    engines for it, so no connection holds it open)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
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
