"""Per-user preferences: the right panel shown or hidden, alerts for new messages on or off,
notification toasts on or off."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import SessionDep
from web.auth import CsrfProtected, CurrentUser
from web.deps import page_context
from web.notification_prefs import TOASTS_KEY, toasts_enabled
from web.templating import is_htmx, render

router = APIRouter(prefix="/prefs", tags=["web"], dependencies=[CsrfProtected])


@router.post("/details")
def toggle_details(
    session: SessionDep, user: CurrentUser, hidden: Annotated[str, Form()] = ""
) -> Response:
    """Remember whether the right panel is hidden (the page already toggled it)."""
    user.preferences = {**(user.preferences or {}), "details_hidden": hidden == "1"}
    session.commit()
    return Response(status_code=204)


@router.post("/notifications")
def toggle_notifications(
    request: Request, session: SessionDep, user: CurrentUser, enabled: Annotated[str, Form()] = ""
) -> Response:
    """Turn alerts for new messages on or off; answers with the switch as it is now."""
    user.notifications_enabled = enabled == "1"
    session.commit()
    return render(request, "base.html", page_context(request, session, user), block="notify_toggle")


@router.post("/notification-toasts")
def toggle_notification_toasts(
    request: Request, session: SessionDep, user: CurrentUser, enabled: Annotated[str, Form()] = ""
) -> Response:
    """Turn toasts for notifications on or off (the notification centre lists them anyway);
    answers htmx with the switch as it is now, a form post with the list again."""
    user.preferences = {**(user.preferences or {}), TOASTS_KEY: enabled == "1"}
    session.commit()
    if not is_htmx(request):
        return RedirectResponse("/notifications", status_code=303)
    context = page_context(request, session, user, toasts_on=toasts_enabled(user.preferences))
    return render(request, "notifications.html", context, block="toast_toggle")
