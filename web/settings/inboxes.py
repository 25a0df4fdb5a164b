"""Settings · Inboxes: teams with a default assignee, members, business hours and time zone."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select

from api.deps import SessionDep
from inbox.limits import DbId, parse_id
from inbox.models import Inbox, User
from inbox.services.admin import inboxes
from inbox.services.admin.errors import SettingsError
from web.auth import AdminUser, CsrfProtected
from web.settings.common import admin_router, back, page

router: APIRouter = admin_router("inboxes")


def _users(session: SessionDep) -> list[User]:
    return list(session.scalars(select(User).where(User.is_active).order_by(User.name)))


def _show(
    request: Request, session: SessionDep, user: AdminUser, edit: Inbox | None = None, **extra: Any
) -> Response:
    hours = extra.pop("hours", None) or inboxes.format_hours(edit.business_hours if edit else {})
    holidays = extra.pop("holidays", None)
    if holidays is None:
        holidays = inboxes.format_holidays(edit.holidays if edit else [])
    sla = extra.pop("sla", None) or inboxes.format_sla(edit)
    return page(
        request,
        session,
        user,
        "inboxes.html",
        "inboxes",
        inboxes=inboxes.list_inboxes(session),
        counts=inboxes.conversation_counts(session),
        users=_users(session),
        edit=edit,
        days=inboxes.DAYS,
        hours=hours,
        holidays=holidays,
        sla=sla,
        sla_business=extra.pop("sla_business", bool(edit and edit.sla_business_hours)),
        **extra,
    )


async def _form(request: Request) -> dict[str, Any]:
    form = await request.form()
    assignee = str(form.get("default_assignee_id") or "")
    return {
        "name": str(form.get("name") or ""),
        "default_assignee_id": parse_id(assignee),
        "member_ids": [i for v in form.getlist("member_ids") if (i := parse_id(str(v)))],
        "hours": {day: str(form.get(f"hours_{day}") or "") for day in inboxes.DAYS},
        "timezone": str(form.get("timezone") or "UTC").strip(),
        "holidays": str(form.get("holidays") or ""),
        "sla": {target: str(form.get(f"sla_{target}") or "") for target in inboxes.SLA_FIELDS},
        "sla_business": form.get("sla_business_hours") == "on",
    }


def _inbox(session: SessionDep, inbox_id: DbId) -> Inbox:
    inbox = session.get(Inbox, inbox_id)
    if inbox is None:
        raise HTTPException(status_code=404, detail="No such inbox")
    return inbox


@router.get("")
def inboxes_page(request: Request, session: SessionDep, user: AdminUser) -> Response:
    """The inboxes, and a form to add one."""
    return _show(request, session, user)


@router.get("/{inbox_id}")
def inbox_edit_page(
    request: Request, session: SessionDep, user: AdminUser, inbox_id: DbId
) -> Response:
    """One inbox's form (and, if it holds conversations, where to move them before deleting)."""
    return _show(request, session, user, edit=_inbox(session, inbox_id))


async def _save(
    request: Request, session: SessionDep, user: AdminUser, inbox: Inbox | None
) -> Response:
    data = await _form(request)
    try:
        saved = inboxes.save_inbox(
            session,
            inbox=inbox,
            name=data["name"],
            default_assignee_id=data["default_assignee_id"],
            member_ids=data["member_ids"],
            business_hours=inboxes.parse_hours(data["hours"]),
            timezone=data["timezone"],
            holidays=inboxes.parse_holidays(data["holidays"]),
            sla=inboxes.parse_sla(data["sla"], data["sla_business"]),
            actor_id=user.id,
        )
    except SettingsError as exc:
        session.rollback()
        edit = session.get(Inbox, inbox.id) if inbox is not None else None
        return _show(
            request,
            session,
            user,
            edit=edit,
            error=str(exc),
            hours=data["hours"],
            holidays=data["holidays"],
            sla=data["sla"],
            sla_business=data["sla_business"],
            status_code=422,
        )
    session.commit()
    return back(f"/settings/inboxes/{saved.id}" if inbox is not None else "/settings/inboxes")


@router.post("", dependencies=[CsrfProtected])
async def inbox_create(request: Request, session: SessionDep, user: AdminUser) -> Response:
    """Add an inbox."""
    return await _save(request, session, user, None)


@router.post("/{inbox_id}", dependencies=[CsrfProtected])
async def inbox_update(
    request: Request, session: SessionDep, user: AdminUser, inbox_id: DbId
) -> Response:
    """Save an inbox's settings."""
    return await _save(request, session, user, _inbox(session, inbox_id))


@router.post("/{inbox_id}/delete", dependencies=[CsrfProtected])
def inbox_delete(
    request: Request,
    session: SessionDep,
    user: AdminUser,
    inbox_id: DbId,
    move_to_id: Annotated[str, Form()] = "",
) -> Response:
    """Delete an inbox, moving its conversations to ``move_to_id`` first if it has any."""
    inbox = _inbox(session, inbox_id)
    target = parse_id(move_to_id)
    try:
        inboxes.delete_inbox(session, inbox=inbox, move_to_id=target, actor_id=user.id)
    except SettingsError as exc:
        session.rollback()
        return _show(
            request, session, user, edit=_inbox(session, inbox_id), error=str(exc), status_code=409
        )
    session.commit()
    return back("/settings/inboxes")
