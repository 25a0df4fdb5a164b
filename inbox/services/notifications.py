"""Notifications for users: written here by every source (a rule's ``notify``, a possible
opt-out, an @mention in a note …), published at once for the user's open pages, and read,
paged and marked read by the notification centre and the JSON API."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, false, func, select, true, update
from sqlalchemy.orm import Session

from inbox import live
from inbox.models import Conversation, Inbox, Notification, NotificationKind, Role, User, utcnow
from inbox.services import visibility

NOTIFICATION_CREATED = "notification.created"
# Some of a user's notifications were marked read: their open pages refresh the bell.
NOTIFICATION_READ = "notification.read"

PAGE_SIZE = 50


def notify(
    session: Session,
    *,
    user: User,
    text: str,
    conversation: Conversation | None = None,
    automation: str | None = None,
    kind: NotificationKind | None = None,
) -> Notification:
    """Notify ``user`` (stored, and published for their open pages; no commit). ``kind``
    defaults to a rule's when ``automation`` names one, else "other"."""
    if kind is None:
        kind = NotificationKind.RULE if automation else NotificationKind.OTHER
    notification = Notification(
        user_id=user.id,
        conversation_id=conversation.id if conversation is not None else None,
        text=text,
        kind=kind,
        automation=automation,
        created_at=utcnow(),
    )
    session.add(notification)
    session.flush()
    live.publish(
        session,
        NOTIFICATION_CREATED,
        conversation_id=conversation.id if conversation is not None else None,
        inbox_id=conversation.inbox_id if conversation is not None else None,
        data={
            "notification_id": notification.id,
            "user_id": user.id,
            "text": text,
            "kind": str(kind),
            "automation": automation,
        },
    )
    return notification


def inbox_managers(session: Session, inbox: Inbox) -> list[User]:
    """Who manages an inbox: its active members with the manager role; else the managers of its
    members; else the active admins (someone is always told)."""
    members = [user for user in inbox.members if user.is_active]
    managers = [user for user in members if user.role == Role.MANAGER]
    if not managers:
        managers = [
            user.manager for user in members if user.manager is not None and user.manager.is_active
        ]
    if not managers:
        managers = list(
            session.scalars(select(User).where(User.role == Role.ADMIN, User.is_active.is_(True)))
        )
    return sorted({user.id: user for user in managers}.values(), key=lambda user: user.id)


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """Newest first; ``next_before`` is the ``before`` of the next page (None on the last)."""

    items: list[Notification]
    next_before: int | None


def unread_count(session: Session, user_id: int) -> int:
    """How many of the user's notifications are unread (the bell; one index range)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )


def visible_to(scope: visibility.Scope) -> ColumnElement[bool]:
    """Notifications an API key's scope may read: those of conversations it sees; those tied
    to no conversation only with a key for every inbox."""
    if scope.everything:
        return true()
    if not scope.inbox_ids:
        return false()
    return and_(
        Notification.conversation_id.is_not(None),
        exists().where(
            Conversation.id == Notification.conversation_id, visibility.conversations(scope)
        ),
    )


def page(
    session: Session,
    *,
    user_id: int | None,
    unread_only: bool = False,
    before: int | None = None,
    limit: int = PAGE_SIZE,
    scope: visibility.Scope = visibility.EVERYTHING,
) -> Page:
    """One page of notifications, newest first (by id: the order they were written), of one
    user or (``user_id`` None, the API only) of everyone ``scope`` allows."""
    query = select(Notification).where(visible_to(scope))
    if user_id is not None:
        query = query.where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    if before is not None:
        query = query.where(Notification.id < before)
    rows = list(session.scalars(query.order_by(Notification.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_before=rows[-1].id if more and rows else None)


def get(
    session: Session,
    notification_id: int,
    *,
    user_id: int | None,
    scope: visibility.Scope = visibility.EVERYTHING,
) -> Notification | None:
    """The notification, if it is the user's (or, ``user_id`` None, if ``scope`` allows it)."""
    query = select(Notification).where(Notification.id == notification_id, visible_to(scope))
    if user_id is not None:
        query = query.where(Notification.user_id == user_id)
    return session.scalars(query).one_or_none()


# --- marking read ----------------------------------------------------------------------------


def mark_read(session: Session, notification: Notification) -> bool:
    """Mark one notification read (no commit); False when it already was."""
    if notification.read_at is not None:
        return False
    notification.read_at = utcnow()
    _publish_read(session, notification.user_id)
    return True


def mark_all_read(
    session: Session, *, user_id: int, scope: visibility.Scope = visibility.EVERYTHING
) -> int:
    """Mark every unread notification of the user read (as far as ``scope`` allows; no
    commit); returns how many."""
    result = session.execute(
        update(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.read_at.is_(None),
            visible_to(scope),
        )
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    marked = int(getattr(result, "rowcount", 0) or 0)
    if marked:
        session.expire_all()
        _publish_read(session, user_id)
    return marked


def _publish_read(session: Session, user_id: int) -> None:
    live.publish(session, NOTIFICATION_READ, data={"user_id": user_id})
