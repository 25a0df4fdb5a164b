"""Sign-in for the web inbox: signed session cookies, CSRF tokens and roles.

The session is Starlette's signed cookie (itsdangerous, keyed by ``settings.secret_key``):
HttpOnly, SameSite=Lax, and Secure when the public URL is https. It holds only the user id and
the CSRF token. Every state-changing request must echo that token, as the ``csrf_token`` form
field or the ``X-CSRF-Token`` header (the layout sets it for htmx with ``hx-headers``); SameSite
alone does not stop a same-site attacker or an old browser.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.middleware.sessions import SessionMiddleware

from api.deps import SessionDep
from inbox.models import Role, User
from inbox.passwords import verify_password
from inbox.settings import Settings

SESSION_COOKIE = "inbox_session"
USER_KEY = "uid"
CSRF_KEY = "csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SESSION_MAX_AGE = 14 * 24 * 3600


class LoginRequired(Exception):
    """Raised by :func:`current_user` when nobody is signed in; answered with a redirect."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def add_session_middleware(app: FastAPI, settings: Settings) -> None:
    """Install the signed session cookie."""
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.public_url.startswith("https://"),
    )


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, or None (same answer for either mistake)."""
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or not user.is_active or not user.password_hash:
        return None
    return user if verify_password(user.password_hash, password) else None


def sign_in(request: Request, user: User) -> None:
    """Start a fresh session for ``user`` (a new CSRF token: no fixation of an old one)."""
    request.session.clear()
    request.session[USER_KEY] = user.id
    request.session[CSRF_KEY] = secrets.token_urlsafe(32)


def sign_out(request: Request) -> None:
    """Forget the session."""
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


def current_user(request: Request, session: SessionDep) -> User:
    """The signed-in user; raises :class:`LoginRequired` when there is none."""
    user_id = request.session.get(USER_KEY)
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.is_active:
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
