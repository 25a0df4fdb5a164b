"""Engine and session factory. One session per request or activity."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from inbox import text


def _without_nul(
    _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
) -> tuple[str, Any]:
    return statement, text.clean_parameters(parameters)


def _store_text_safely(engine: Engine) -> Engine:
    """No NUL reaches the database, from any route or service (see :mod:`inbox.text`)."""
    event.listen(engine, "before_cursor_execute", _without_nul, retval=True)
    return engine


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; for SQLite, make its folder and turn on WAL and foreign keys. On
    both, NUL in text and JSON is replaced before it is written (:mod:`inbox.text`)."""
    kwargs.setdefault("json_serializer", text.dumps)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # pysqlite's own transaction handling is kept on purpose: it begins a transaction at
            # the first write, so concurrent writers wait on the busy timeout instead of failing
            # with "database is locked" on a read-to-write upgrade. The price: SAVEPOINTs are not
            # reliable on SQLite here, so services retry whole transactions instead.
            cursor = dbapi_connection.cursor()
            # WAL lets the web process read while the worker writes; foreign keys are off by
            # default in SQLite.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return _store_text_safely(engine)
    if parsed.drivername in ("postgresql", "postgres"):
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    kwargs.setdefault("pool_pre_ping", True)
    return _store_text_safely(create_engine(url, **kwargs))


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


_engines: dict[str, Engine] = {}


def engine_for(url: str) -> Engine:
    """A process-wide engine per URL, so web, worker and CLI share one pool each."""
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]
