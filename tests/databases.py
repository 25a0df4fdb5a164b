"""A fresh, empty database of the chosen backend, for tests that build the schema themselves
(migrations, `inbox migrate`, `inbox dev`) instead of using the shared ``engine`` fixture."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from tests.conftest import BACKEND, POSTGRES_SERVER, _postgres_admin


@contextmanager
def fresh_database(folder: Path) -> Iterator[str]:
    """Yield the URL of a new empty database (a SQLite file in ``folder`` or a PostgreSQL
    database of its own), dropped afterwards."""
    if BACKEND == "sqlite":
        yield f"sqlite:///{folder / f'fresh-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"inbox_fresh_{uuid.uuid4().hex[:12]}"
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
