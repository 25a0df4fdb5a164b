"""``/api/v1/notifications``: what the notification centre shows, for an integration (a
chat bridge, a pager, a CRM's own inbox): list them (per user, unread only, paged newest
first), mark one read, mark all of a user's read.

An API key belongs to no user, so it acts for the business within its scopes: it reads the
notifications of the conversations its inboxes hold, for every user or (``user_id``) one; a
key for every inbox also those tied to no conversation. Marking read needs a read-write key
and is what the user then sees in the app (the bell drops at once)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from api.auth import ApiScope, require_api_key
from api.deps import SessionDep
from api.routes.conversations import field_error
from api.schemas import ErrorOut
from inbox.limits import DbId
from inbox.models import Notification, NotificationKind, User
from inbox.services import notifications

router = APIRouter(
    prefix="/api/v1/notifications",
    tags=["notifications"],
    dependencies=[Depends(require_api_key)],
    responses={401: {"model": ErrorOut, "description": "Missing, invalid or revoked API key"}},
)


class NotificationOut(BaseModel):
    """One notification of one user."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    conversation_id: int | None = Field(description="The conversation it is about, if any.")
    kind: NotificationKind = Field(description="Where it came from.")
    automation: str | None = Field(description="The rule that sent it (kind `rule`).")
    text: str
    created_at: datetime
    read_at: datetime | None = Field(description="When it was marked read; null while unread.")


class NotificationPage(BaseModel):
    """One page of notifications, newest first."""

    items: list[NotificationOut]
    next_before: int | None = Field(
        description="Pass as `before` for the next (older) page; null on the last page."
    )


class MarkAllReadIn(BaseModel):
    user_id: DbId = Field(description="Whose notifications to mark read.")


class MarkedOut(BaseModel):
    marked: int = Field(description="How many notifications were unread and are now read.")


def _user(session: Session, user_id: int, where: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise field_error("user_id", f"no user with id {user_id}", where=where)
    return user


# An unknown user_id is a 422 shaped like FastAPI's validation errors (field_error), which
# the default 422 response of the schema already describes.
@router.get("", response_model=NotificationPage)
def list_notifications(
    session: SessionDep,
    scope: ApiScope,
    user_id: Annotated[DbId | None, Query(description="Only this user's.")] = None,
    unread: Annotated[bool, Query(description="Only the unread ones.")] = False,
    before: Annotated[DbId | None, Query(description="`next_before` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = notifications.PAGE_SIZE,
) -> NotificationPage:
    """Notifications the key may see, newest first."""
    if user_id is not None:
        _user(session, user_id, "query")
    found = notifications.page(
        session, user_id=user_id, unread_only=unread, before=before, limit=limit, scope=scope
    )
    return NotificationPage(
        items=[NotificationOut.model_validate(n) for n in found.items],
        next_before=found.next_before,
    )


@router.post(
    "/{notification_id}/read",
    response_model=NotificationOut,
    responses={404: {"model": ErrorOut, "description": "No such notification"}},
)
def mark_read(notification_id: DbId, session: SessionDep, scope: ApiScope) -> NotificationOut:
    """Mark one notification read (already read: answered as it is)."""
    notification: Notification | None = notifications.get(
        session, notification_id, user_id=None, scope=scope
    )
    if notification is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"notification {notification_id} not found")
    notifications.mark_read(session, notification)
    session.commit()
    return NotificationOut.model_validate(notification)


@router.post("/read-all", response_model=MarkedOut)
def mark_all_read(payload: MarkAllReadIn, session: SessionDep, scope: ApiScope) -> MarkedOut:
    """Mark every unread notification of the user read (those the key may see)."""
    _user(session, payload.user_id, "body")
    marked = notifications.mark_all_read(session, user_id=payload.user_id, scope=scope)
    session.commit()
    return MarkedOut(marked=marked)
