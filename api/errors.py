"""Errors the API answers as JSON of its own.

- A refusal with a machine-readable code beside the words: ``{"detail": ..., "code": ...}`` (a
  refused send says ``opted_out``, so an integration can tell it from other refusals).
- The last line against a 5xx for bad input: what the database refuses as data (a value too
  long for its column, an integer out of its range) is the client's mistake, answered 422. The
  edges check these before the database sees them (``inbox.limits``, the API schemas, the
  webhook's field checks); these handlers are for whatever a new route forgets, and log it so
  that the edge can be fixed. The transaction is rolled back by the session's close: nothing is
  half-written.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError

from inbox.services.outbound import OutboundBlocked

log = logging.getLogger(__name__)

DETAIL = "a value is too long or out of range for the database"


class Refused(Exception):
    """The request is understood and refused (409 by default), with a code."""

    def __init__(self, detail: str, code: str, status_code: int = 409) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.status_code = status_code

    @classmethod
    def send(cls, exc: OutboundBlocked) -> Refused:
        """A send the outbound service refused (``opted_out``, or ``not_sendable``)."""
        return cls(exc.reason, exc.code or "not_sendable")


async def _refused(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refused)
    return JSONResponse({"detail": exc.detail, "code": exc.code}, status_code=exc.status_code)


async def _not_data(request: Request, exc: Exception) -> JSONResponse:
    log.warning(
        "%s %s: input the database cannot hold: %s",
        request.method,
        request.url.path,
        type(exc).__name__,
    )
    # Shaped like FastAPI's own 422s, which is what the API schema documents for a 422.
    detail = [{"loc": ["request"], "msg": DETAIL, "type": "value_error"}]
    return JSONResponse({"detail": detail}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Refused, _refused)
    # DataError: PostgreSQL's "value too long" and "integer out of range". OverflowError:
    # SQLite's driver refusing an integer past 64 bits before the statement runs.
    app.add_exception_handler(DataError, _not_data)
    app.add_exception_handler(OverflowError, _not_data)
