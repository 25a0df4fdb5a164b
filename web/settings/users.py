"""Settings · Users: create or invite, role, manager, deactivate / reactivate, set-password
links, sign out everywhere."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from api.deps import SessionDep, SettingsDep
from inbox.limits import DbId, parse_id
from inbox.models import Role, User
from inbox.services import sessions
from inbox.services.admin import audit, users
from inbox.services.admin.errors import SettingsError
from inbox.settings import Settings
from web.auth import AdminUser, CsrfProtected
from web.settings.common import admin_router, back, page

router: APIRouter = admin_router("users")


def _show(request: Request, session: SessionDep, user: AdminUser, **extra: Any) -> Response:
    everyone = users.list_users(session)
    return page(
        request,
        session,
        user,
        "users.html",
        "users",
        users=everyone,
        managers=[u for u in everyone if u.is_active and u.role in (Role.ADMIN, Role.MANAGER)],
        roles=list(Role),
        **extra,
    )


def _link(settings: Settings, token: str) -> str:
    """The invitation link on the public URL (what the invited person's browser can reach)."""
    return f"{settings.public_url.rstrip('/')}/set-password/{token}"


def _user(session: SessionDep, user_id: DbId) -> User:
    found = session.get(User, user_id)
    if found is None:
        raise HTTPException(status_code=404, detail="No such user")
    return found


def _manager(value: str) -> int | None:
    return parse_id(value)


@router.get("")
def users_page(request: Request, session: SessionDep, user: AdminUser) -> Response:
    """Everyone, with role and manager, and a form to add or invite someone."""
    return _show(request, session, user)


@router.post("", dependencies=[CsrfProtected])
def user_create(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: AdminUser,
    email: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = Role.AGENT,
    manager_id: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    """Add a user with an initial password, or (password left blank) invite them: the page
    shows a one-time set-password link to send them."""
    try:
        created = users.add_user(
            session,
            email=email,
            name=name,
            role=role,
            password=password or None,
            manager_id=_manager(manager_id),
            actor_id=user.id,
        )
    except SettingsError as exc:
        session.rollback()
        return _show(request, session, user, error=str(exc), status_code=422)
    session.commit()
    if password:
        return back("/settings/users")
    link = _link(settings, users.issue_link(session, user=created, actor_id=user.id))
    session.commit()
    return _show(request, session, user, invited=created, invite_link=link)


@router.post("/{user_id}", dependencies=[CsrfProtected])
def user_update(
    request: Request,
    session: SessionDep,
    user: AdminUser,
    user_id: DbId,
    name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = Role.AGENT,
    manager_id: Annotated[str, Form()] = "",
) -> Response:
    """Change name, role and manager."""
    target = _user(session, user_id)
    try:
        users.update_user(
            session,
            user=target,
            name=name,
            role=role,
            manager_id=_manager(manager_id),
            actor_id=user.id,
        )
    except SettingsError as exc:
        session.rollback()
        return _show(request, session, user, error=str(exc), status_code=422)
    session.commit()
    return back("/settings/users")


@router.post("/{user_id}/deactivate", dependencies=[CsrfProtected])
def user_deactivate(
    request: Request, session: SessionDep, user: AdminUser, user_id: DbId
) -> Response:
    """Deactivate; their open conversations go back to each inbox's default assignee."""
    target = _user(session, user_id)
    try:
        moved = users.deactivate(session, user=target, actor_id=user.id)
    except SettingsError as exc:
        session.rollback()
        return _show(request, session, user, error=str(exc), status_code=409)
    session.commit()
    notice = f"{target.name} is deactivated; {moved} open conversation(s) were reassigned."
    return _show(request, session, user, notice=notice)


@router.post("/{user_id}/reactivate", dependencies=[CsrfProtected])
def user_reactivate(
    request: Request, session: SessionDep, user: AdminUser, user_id: DbId
) -> Response:
    """Let a deactivated user sign in again."""
    target = _user(session, user_id)
    try:
        users.reactivate(session, user=target, actor_id=user.id)
    except SettingsError as exc:
        session.rollback()
        return _show(request, session, user, error=str(exc), status_code=409)
    session.commit()
    return back("/settings/users")


@router.post("/{user_id}/link", dependencies=[CsrfProtected])
def user_link(
    request: Request, session: SessionDep, settings: SettingsDep, user: AdminUser, user_id: DbId
) -> Response:
    """A new one-time set-password link (an invitation again, or a password reset)."""
    target = _user(session, user_id)
    if not target.is_active:
        return _show(request, session, user, error=f"{target.name} is deactivated", status_code=409)
    audit.record(session, actor_id=user.id, action="user.link", target=target.email)
    link = _link(settings, users.issue_link(session, user=target, actor_id=user.id))
    session.commit()
    return _show(request, session, user, invited=target, invite_link=link)


@router.post("/{user_id}/sign-out", dependencies=[CsrfProtected])
def user_sign_out(
    request: Request, session: SessionDep, user: AdminUser, user_id: DbId
) -> Response:
    """Sign a user out everywhere (a lost laptop, a shared browser)."""
    target = _user(session, user_id)
    ended = sessions.revoke_all(session, user_id=target.id)
    audit.record(
        session,
        actor_id=user.id,
        action="user.sign_out",
        target=target.email,
        details={"sessions": ended},
    )
    session.commit()
    if target.id == user.id:
        request.session.clear()
        return back("/login")
    notice = f"{target.name} is signed out everywhere ({ended} session(s) ended)."
    return _show(request, session, user, notice=notice)
