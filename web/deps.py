"""Helpers every web screen shares: the page context and waking the workflow after a change."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from api.state import AppState
from inbox.contracts import conversation_workflow_id
from inbox.models import LiveEvent, Role, User
from web.auth import csrf_token


def flush_after(response: Response, state: AppState, conversation_ids: Iterable[int]) -> Response:
    """Deliver the signals just committed once ``response`` is sent, so the agent never waits
    for Temporal; the relay's own loop retries anything this misses (Temporal down)."""
    workflow_ids = sorted({conversation_workflow_id(i) for i in conversation_ids})

    async def flush() -> None:
        for workflow_id in workflow_ids:
            await state.relay.flush(workflow_id)

    if workflow_ids:
        response.background = BackgroundTask(flush)
    return response


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
    places the position appears: it is not read (one query less)."""
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
    return context
