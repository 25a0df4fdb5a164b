"""Sign-in and sign-out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import SessionDep
from web.auth import CsrfProtected, authenticate, csrf_token, sign_in, sign_out
from web.templating import render

router = APIRouter(tags=["web"])


def _safe_next(next_url: str | None) -> str:
    """Only local paths: an open redirect would let a phishing link borrow our sign-in page."""
    if next_url and next_url.startswith("/") and not next_url.startswith("//"):
        return next_url
    return "/inbox"


@router.get("/login")
def login_page(request: Request, next: str = "/inbox") -> Response:
    """The sign-in form."""
    return render(
        request,
        "login.html",
        {"csrf_token": csrf_token(request), "next": _safe_next(next), "error": None, "email": ""},
    )


@router.post("/login", dependencies=[CsrfProtected])
def login(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/inbox",
) -> Response:
    """Check the email and password; start a session or show the form again with an error."""
    user = authenticate(session, email, password)
    if user is None:
        return render(
            request,
            "login.html",
            {
                "csrf_token": csrf_token(request),
                "next": _safe_next(next),
                "error": "That email and password do not match an active account.",
                "email": email,
            },
            status_code=401,
        )
    sign_in(request, user)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[CsrfProtected])
def logout(request: Request) -> Response:
    """End the session."""
    sign_out(request)
    return RedirectResponse("/login", status_code=303)
