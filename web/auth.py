"""Sign-in for the web inbox: server-side sessions, CSRF tokens and roles.

The browser holds Starlette's signed cookie (itsdangerous, keyed by ``settings.secret_key``):
HttpOnly, SameSite=Lax, and Secure when the public URL is https. It carries the session's
random token and the CSRF token, nothing else. The session itself lives in the app database
(``inbox.services.sessions``): signing out, "sign out everywhere", a new password or being
deactivated delete it, and the old cookie stops working on the next request, on every web
process. Every state-changing request must echo the CSRF token, as the ``csrf_token`` form
field or the ``X-CSRF-Token`` header (the layout sets it for htmx with ``hx-headers``);
SameSite alone does not stop a same-site attacker or an old browser.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.middleware.sessions import SessionMiddleware

from api.deps import SessionDep
from inbox.models import Role, User
from inbox.passwords import verify_password
from inbox.services import sessions
from inbox.settings import Settings

SESSION_COOKIE = "inbox_session"
TOKEN_KEY = "sid"
CSRF_KEY = "csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# What ``request.state`` holds for the signed-in request: the session row's token hash.
SESSION_STATE = "web_session_hash"


class LoginRequired(Exception):
    """Raised by :func:`current_user` when nobody is signed in; answered with a redirect."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def lifetimes(settings: Settings) -> sessions.Lifetimes:
    """The session lifetimes the settings ask for."""
    return sessions.Lifetimes(
        idle=timedelta(minutes=settings.session_idle_minutes),
        absolute=timedelta(hours=settings.session_max_hours),
    )


def add_session_middleware(app: FastAPI, settings: Settings) -> None:
    """Install the signed cookie that carries the session token (it expires with the
    session's absolute lifetime; the server decides before that)."""
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=settings.session_max_hours * 3600,
        same_site="lax",
        https_only=settings.public_url.startswith("https://"),
    )


def client_address(request: Request) -> str:
    """The client's address as the server sees it: behind a proxy, uvicorn puts the browser's
    here from ``X-Forwarded-For`` when the proxy is in ``FORWARDED_ALLOW_IPS``."""
    return request.client.host if request.client else ""


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, or None (same answer for either mistake,
    and the same Argon2 work whether or not the e-mail has an account)."""
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    usable = user is not None and user.is_active and bool(user.password_hash)
    matches = verify_password(user.password_hash if usable and user else None, password)
    return user if usable and matches else None


def sign_in(request: Request, session: Session, user: User) -> None:
    """Start a fresh server session for ``user`` and a new CSRF token (no fixation of an old
    one); the caller commits."""
    old = request.session.get(TOKEN_KEY)
    if isinstance(old, str):
        sessions.end(session, old)
    sessions.prune(session, lifetimes(request.app.state.inbox.settings))
    token = sessions.start(
        session,
        user=user,
        user_agent=request.headers.get("user-agent", ""),
        client_address=client_address(request),
    )
    request.session.clear()
    request.session[TOKEN_KEY] = token
    request.session[CSRF_KEY] = secrets.token_urlsafe(32)


def sign_out(request: Request, session: Session) -> None:
    """End this browser's session on the server and forget the cookie; the caller commits."""
    token = request.session.get(TOKEN_KEY)
    if isinstance(token, str):
        sessions.end(session, token)
    request.session.clear()


def csrf_token(request: Request) -> str:
    """This session's CSRF token, created on first use (the sign-in form needs one too)."""
    token = request.session.get(CSRF_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_KEY] = token
    return str(token)


async def csrf_protect(request: Request) -> None:
    """Refuse a state-changing request whose CSRF token is missing or wrong (403)."""
    expected = request.session.get(CSRF_KEY)
    given = request.headers.get(CSRF_HEADER)
    if not given:
        form = await request.form()  # Starlette caches it: route Form() parameters still work
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not expected or not given or not hmac.compare_digest(str(expected), given):
        raise HTTPException(
            status_code=403, detail="Invalid or missing CSRF token; reload the page"
        )


def signed_in_user(request: Request, session: Session) -> User | None:
    """The user of this request's live session, or None (no cookie, or the session ended:
    signed out, expired, revoked, or its user deactivated)."""
    token = request.session.get(TOKEN_KEY)
    if not isinstance(token, str):
        return None
    found = sessions.resolve(session, token, lifetimes(request.app.state.inbox.settings))
    if found is None:
        request.session.pop(TOKEN_KEY, None)
        return None
    row, user = found
    setattr(request.state, SESSION_STATE, row.token_hash)
    return user


def current_user(request: Request, session: SessionDep) -> User:
    """The signed-in user; raises :class:`LoginRequired` when there is none."""
    user = signed_in_user(request, session)
    if user is None:
        next_url = request.url.path
        if request.url.query:
            next_url += "?" + request.url.query
        raise LoginRequired(next_url)
    return user


CurrentUser = Annotated[User, Depends(current_user)]
CsrfProtected = Depends(csrf_protect)


async def require_admin(user: CurrentUser) -> User:
    """The signed-in user if an admin; 403 for managers and agents (async: no worker thread
    for a comparison)."""
    if user.role != Role.ADMIN:
        raise HTTPException(status_code=403, detail="Only admins can do this")
    return user


AdminUser = Annotated[User, Depends(require_admin)]


def is_manager(user: User) -> bool:
    """Admins and managers see every inbox; agents see the inboxes they belong to."""
    return user.role in (Role.ADMIN, Role.MANAGER)
