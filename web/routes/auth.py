"""Sign-in and sign-out, and the signed-in user's own sessions ("sign out everywhere")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import SessionDep
from inbox.services import sessions, sign_in
from web.auth import (
    SESSION_STATE,
    CsrfProtected,
    CurrentUser,
    authenticate,
    client_address,
    csrf_token,
    sign_out,
)
from web.auth import sign_in as start_session
from web.deps import page_context
from web.templating import render

router = APIRouter(tags=["web"])

WRONG = "That email and password do not match an active account."
SET_NOTICE = "Your password is set; sign in with it."


def _safe_next(next_url: str | None) -> str:
    """Only local paths: an open redirect would let a phishing link borrow our sign-in page."""
    if next_url and next_url.startswith("/") and not next_url.startswith("//"):
        return next_url
    return "/inbox"


def _form(
    request: Request,
    *,
    next_url: str,
    email: str = "",
    error: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    context = {
        "csrf_token": csrf_token(request),
        "next": _safe_next(next_url),
        "error": error,
        "email": email,
        "notice": SET_NOTICE if request.query_params.get("set") else None,
    }
    return render(request, "login.html", context, status_code=status_code, headers=headers)


@router.get("/login")
def login_page(request: Request, next: str = "/inbox") -> Response:
    """The sign-in form."""
    return _form(request, next_url=next)


@router.post("/login", dependencies=[CsrfProtected])
def login(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/inbox",
) -> Response:
    """Check the email and password; start a session or show the form again with an error.
    Too many failures for the account or the address are refused before the password is
    checked (429, with how long to wait)."""
    keys = [
        (sign_in.account_key(email), sign_in.ACCOUNT),
        (sign_in.address_key(client_address(request)), sign_in.ADDRESS),
    ]
    refusal = sign_in.check(session, keys)
    if refusal is not None:
        return _form(
            request,
            next_url=next,
            email=email,
            error=refusal.message,
            status_code=429,
            headers={"Retry-After": str(refusal.retry_after)},
        )
    user = authenticate(session, email, password)
    if user is None:
        sign_in.record_failure(session, keys)
        session.commit()
        return _form(request, next_url=next, email=email, error=WRONG, status_code=401)
    sign_in.record_success(session, email)
    start_session(request, session, user)
    session.commit()
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[CsrfProtected])
def logout(request: Request, session: SessionDep) -> Response:
    """End the session, on the server too: the cookie is worthless from now on."""
    sign_out(request, session)
    session.commit()
    return RedirectResponse("/login", status_code=303)


@router.get("/account")
def account_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """The signed-in user's sessions (where and when they were last used)."""
    context = page_context(
        request,
        session,
        user,
        section="account",
        sessions=sessions.of_user(session, user.id),
        this_session=getattr(request.state, SESSION_STATE, None),
    )
    return render(request, "account.html", context)


@router.post("/account/sign-out-everywhere", dependencies=[CsrfProtected])
def sign_out_everywhere(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """End every session of this user, this one included."""
    sessions.revoke_all(session, user_id=user.id)
    request.session.clear()
    session.commit()
    return RedirectResponse("/login", status_code=303)
