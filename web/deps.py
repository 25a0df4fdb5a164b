"""Helpers every web screen shares: the page context and the live feed position."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox.models import LiveEvent, Role, User
from inbox.services import notifications
from web.auth import csrf_token


def live_position(session: Session) -> int:
    """The newest id of the live feed: where a page's event stream starts, and the version of
    what a render read when it is read before the render's data."""
    return int(session.scalar(select(func.max(LiveEvent.id))) or 0)


def page_context(
    request: Request, session: Session, user: User, *, live: bool = True, **extra: Any
) -> dict[str, Any]:
    """What the layout needs: the user, the CSRF token, the live feed position (``live_after``
    in ``extra`` if the caller read it before its data, see ``conversation_context``).

    ``live=False`` for a response that shows neither the layout nor a conversation, the only
    places the position appears: it is not read, nor the bell's unread count (queries less)."""
    context = {
        "request": request,
        "user": user,
        "csrf_token": csrf_token(request),
        "is_admin": user.role == Role.ADMIN,
        "details_hidden": bool((user.preferences or {}).get("details_hidden")),
        **extra,
    }
    if live and context.get("live_after") is None:
        context["live_after"] = live_position(session)
    if live and context.get("unread_notifications") is None:
        context["unread_notifications"] = notifications.unread_count(session, user.id)
    return context
