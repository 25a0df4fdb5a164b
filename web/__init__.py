"""The agents' web inbox: server-rendered pages (Jinja + htmx), sign-in, live updates."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import URL
from starlette.exceptions import HTTPException

from api.state import AppState
from web.auth import LoginRequired, add_session_middleware
from web.errors import http_error
from web.live import LiveFollower
from web.router import routers

STATIC_DIR = Path(__file__).parent / "static"


def _login_redirect(request: Request, exc: Exception) -> Response:
    """Send a visitor who is not signed in to the sign-in page (htmx: a full-page redirect)."""
    next_url = exc.next_url if isinstance(exc, LoginRequired) else "/"
    url = str(URL("/login").include_query_params(next=next_url))
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def mount_web(app: FastAPI, state: AppState) -> None:
    """Add the web inbox to ``app``: session cookie, static files, pages, live updates."""
    add_session_middleware(app, state.settings)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for screen in routers:
        app.include_router(screen, include_in_schema=False)
    app.add_exception_handler(LoginRequired, _login_redirect)
    app.add_exception_handler(HTTPException, http_error)
    app.state.web_live = LiveFollower(state.sessions, state.settings.database_url)


__all__ = ["mount_web"]
