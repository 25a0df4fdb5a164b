"""Users (admins only): who can sign in, and with which role."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from api.deps import SessionDep
from inbox.auth import create_user
from inbox.models import Role, User
from web.auth import AdminUser, CsrfProtected
from web.deps import page_context
from web.templating import render

router = APIRouter(prefix="/users", tags=["web"])


@router.get("")
def users_page(request: Request, session: SessionDep, user: AdminUser) -> Response:
    """Everyone, and a form to add someone."""
    users = list(session.scalars(select(User).order_by(User.name)))
    context = page_context(request, session, user, users=users, roles=list(Role), error=None)
    return render(request, "users.html", context)


@router.post("", dependencies=[CsrfProtected])
def users_create(
    request: Request,
    session: SessionDep,
    user: AdminUser,
    email: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "agent",
    password: Annotated[str, Form()] = "",
) -> Response:
    """Add a user; on bad input show the form again with the reason, nothing saved."""
    try:
        create_user(session, email=email, name=name, role=role, password=password)
    except ValueError as exc:
        session.rollback()
        users = list(session.scalars(select(User).order_by(User.name)))
        context = page_context(
            request, session, user, users=users, roles=list(Role), error=str(exc)
        )
        return render(request, "users.html", context, status_code=422)
    session.commit()
    return RedirectResponse("/users", status_code=303)
