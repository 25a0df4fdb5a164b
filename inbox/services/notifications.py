"""Notifications for users: written here by every source (a rule's ``notify``, consent reviews
…), published at once for the user's open pages."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox import live
from inbox.models import Conversation, Inbox, Notification, Role, User

NOTIFICATION_CREATED = "notification.created"


def notify(
    session: Session,
    *,
    user: User,
    text: str,
    conversation: Conversation | None = None,
    automation: str | None = None,
) -> Notification:
    """Notify ``user`` (stored, and published for their open pages; no commit)."""
    notification = Notification(
        user_id=user.id,
        conversation_id=conversation.id if conversation is not None else None,
        text=text,
        automation=automation,
    )
    session.add(notification)
    session.flush()
    live.publish(
        session,
        NOTIFICATION_CREATED,
        conversation_id=conversation.id if conversation is not None else None,
        inbox_id=conversation.inbox_id if conversation is not None else None,
        data={"notification_id": notification.id, "user_id": user.id, "text": text},
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
