"""API answers that carry a machine-readable code beside the words: ``{"detail": ..., "code":
...}`` (a refused send says ``opted_out``, so an integration can tell it from other refusals)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from inbox.services.outbound import OutboundBlocked


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


def install(app: FastAPI) -> None:
    """Answer :class:`Refused` as its JSON."""
    app.add_exception_handler(Refused, _refused)
