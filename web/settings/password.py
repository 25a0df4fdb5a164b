"""The one settings page that is not for admins: an invited user sets a password through the
one-time link an admin gave them (the signed token is the authorization)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import SessionDep
from inbox.services.admin import users
from inbox.services.admin.errors import SettingsError
from web.auth import csrf_protect, csrf_token
from web.templating import render

router = APIRouter(prefix="/set-password", tags=["settings"])


def _show(request: Request, token: str, **extra: object) -> Response:
    status = extra.pop("status_code", 200)
    context = {"request": request, "user": None, "csrf_token": csrf_token(request), "token": token}
    return render(
        request,
        "settings/set_password.html",
        {**context, "error": None, "who": None, **extra},
        status_code=int(status),  # type: ignore[call-overload]
    )


@router.get("/{token}", name="set_password_page")
def set_password_page(request: Request, session: SessionDep, token: str) -> Response:
    """The form, if the link is still good; else why not."""
    try:
        who = users.user_for_token(session, token)
    except SettingsError as exc:
        return _show(request, token, error=str(exc), dead=True, status_code=410)
    return _show(request, token, who=who)


@router.post("/{token}", dependencies=[Depends(csrf_protect)])
def set_password_submit(
    request: Request,
    session: SessionDep,
    token: str,
    password: Annotated[str, Form(max_length=1000)] = "",
    confirm: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Set the password (the link then stops working, and the user's sessions end) and go to
    sign in."""
    try:
        who = users.user_for_token(session, token)
    except SettingsError as exc:
        return _show(request, token, error=str(exc), dead=True, status_code=410)
    try:
        if password != confirm:
            raise SettingsError("the two passwords differ", field="confirm")
        users.set_password_with_token(session, token=token, password=password)
    except SettingsError as exc:
        session.rollback()
        return _show(request, token, who=who, error=str(exc), status_code=422)
    session.commit()
    return RedirectResponse("/login?set=1", status_code=303)
