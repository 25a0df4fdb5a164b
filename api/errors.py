"""The last line against a 5xx for bad input: what the database refuses as data (a value too
long for its column, an integer out of its range) is the client's mistake, answered 422.

The edges check these before the database sees them (``inbox.limits``, the API schemas, the
webhook's field checks); these handlers are for whatever a new route forgets, and log it so
that the edge can be fixed. The transaction is rolled back by the session's close: nothing is
half-written.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError

log = logging.getLogger(__name__)

DETAIL = "a value is too long or out of range for the database"


async def _refused(request: Request, exc: Exception) -> JSONResponse:
    log.warning(
        "%s %s: input the database cannot hold: %s",
        request.method,
        request.url.path,
        type(exc).__name__,
    )
    return JSONResponse({"detail": DETAIL}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    # DataError: PostgreSQL's "value too long" and "integer out of range". OverflowError:
    # SQLite's driver refusing an integer past 64 bits before the statement runs.
    app.add_exception_handler(DataError, _refused)
    app.add_exception_handler(OverflowError, _refused)
