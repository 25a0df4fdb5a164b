"""The notification centre: the bell's count, the list (newest first, all or unread, paged),
mark one read and mark all read. Each user sees only their own notifications; what writes
them is ``inbox.services.notifications`` (toasts arrive over the live stream, ``web.live``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import SessionDep
from inbox.limits import DbId
from inbox.services import notifications
from web.auth import CsrfProtected, CurrentUser
from web.deps import page_context
from web.notification_prefs import toasts_enabled
from web.templating import is_htmx, render, templates

router = APIRouter(prefix="/notifications", tags=["web"])


@router.get("")
def notification_list(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    unread: Annotated[str, Query(max_length=8)] = "",
    before: Annotated[DbId | None, Query()] = None,
) -> Response:
    """The user's notifications, newest first; ``?unread=1`` only the unread ones."""
    unread_only = unread == "1"
    found = notifications.page(session, user_id=user.id, unread_only=unread_only, before=before)
    context = page_context(
        request,
        session,
        user,
        section="notifications",
        page=found,
        unread_only=unread_only,
        before=before,
        toasts_on=toasts_enabled(user.preferences),
    )
    return render(request, "notifications.html", context, block="centre")


@router.get("/bell")
def bell(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """The bell with the unread count (refetched when the live stream says it changed)."""
    return templates.TemplateResponse(
        request,
        "partials/bell.html",
        {"unread_notifications": notifications.unread_count(session, user.id)},
        headers={"Cache-Control": "no-store"},
    )


@router.post("/{notification_id}/read", dependencies=[CsrfProtected])
def mark_read(
    request: Request, session: SessionDep, user: CurrentUser, notification_id: DbId
) -> Response:
    """Mark one of the user's notifications read; htmx gets the row and the bell back."""
    notification = notifications.get(session, notification_id, user_id=user.id)
    if notification is None:
        raise HTTPException(status_code=404, detail="No such notification")
    notifications.mark_read(session, notification)
    session.commit()
    if not is_htmx(request):
        return RedirectResponse("/notifications", status_code=303)
    context = page_context(
        request,
        session,
        user,
        live=False,
        notification=notification,
        unread_notifications=notifications.unread_count(session, user.id),
    )
    return templates.TemplateResponse(request, "partials/notification_read.html", context)


@router.post("/read-all", dependencies=[CsrfProtected])
def mark_all_read(
    session: SessionDep, user: CurrentUser, unread: Annotated[str, Form(max_length=8)] = ""
) -> Response:
    """Mark every notification of the user read, and show the list again."""
    notifications.mark_all_read(session, user_id=user.id)
    session.commit()
    return RedirectResponse(
        "/notifications?unread=1" if unread == "1" else "/notifications", status_code=303
    )
