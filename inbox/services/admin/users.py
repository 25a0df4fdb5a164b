"""Users: create or invite, role, manager, deactivate and reactivate.

An invitation or a password reset is a one-time link whose random token is kept only as a
hash (``password_tokens``): it expires (7 days for an invitation, 24 hours for a reset), it is
used up by the request that sets the password, and a newer link replaces the older ones.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from inbox.auth import MIN_PASSWORD_LENGTH, create_user
from inbox.models import (
    Conversation,
    ConversationStatus,
    Inbox,
    PasswordToken,
    Role,
    User,
    utcnow,
)
from inbox.passwords import hash_password
from inbox.services import conversations, sessions
from inbox.services.admin import audit
from inbox.services.admin.errors import SettingsError

LINK_LIFETIMES = {"invite": timedelta(days=7), "reset": timedelta(hours=24)}


def list_users(session: Session) -> list[User]:
    """Everyone, active first, by name."""
    return list(session.scalars(select(User).order_by(User.is_active.desc(), User.name)))


def add_user(
    session: Session,
    *,
    email: str,
    name: str,
    role: str,
    password: str | None,
    manager_id: int | None = None,
    actor_id: int | None = None,
) -> User:
    """Create a user; without ``password`` it is an invitation (see :func:`issue_link`)."""
    try:
        user = create_user(session, email=email, name=name, role=role, password=password or None)
    except ValueError as exc:
        field = str(exc).split(":", 1)[0]
        raise SettingsError(str(exc), field=field) from exc
    if manager_id is not None:
        _check_manager(session, user, manager_id)
        user.manager_id = manager_id
    audit.record(
        session,
        actor_id=actor_id,
        action="user.invite" if not password else "user.create",
        target=user.email,
        details={"role": role, "manager_id": manager_id},
    )
    return user


def update_user(
    session: Session,
    *,
    user: User,
    name: str,
    role: str,
    manager_id: int | None,
    actor_id: int | None = None,
) -> User:
    """Change a user's name, role and manager. An admin cannot demote themselves (someone must
    be left able to undo it)."""
    if not name.strip():
        raise SettingsError("name: a name is required", field="name")
    if role not in {r.value for r in Role}:
        raise SettingsError(
            f"role: must be one of {', '.join(r.value for r in Role)}", field="role"
        )
    if user.id == actor_id and role != Role.ADMIN:
        raise SettingsError("role: you cannot take away your own admin role", field="role")
    if manager_id is not None:
        _check_manager(session, user, manager_id)
    before = {"name": user.name, "role": user.role, "manager_id": user.manager_id}
    user.name, user.role, user.manager_id = name.strip(), role, manager_id
    after = {"name": user.name, "role": user.role, "manager_id": user.manager_id}
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changes:
        audit.record(
            session, actor_id=actor_id, action="user.update", target=user.email, details=changes
        )
    return user


def deactivate(session: Session, *, user: User, actor_id: int | None = None) -> int:
    """Stop ``user`` signing in and end their sessions; their open conversations go back to
    each inbox's default assignee (unassigned when that is them or nobody), each through
    ``assign`` so the timeline and the workflow hear it. Inboxes whose default assignee they
    were get none. Returns how many conversations were reassigned."""
    if user.id == actor_id:
        raise SettingsError("you cannot deactivate yourself")
    if not user.is_active:
        raise SettingsError(f"{user.name} is deactivated already")
    user.is_active = False
    sessions.revoke_all(session, user_id=user.id)  # signed out now, not at their next page
    for inbox in session.scalars(select(Inbox).where(Inbox.default_assignee_id == user.id)):
        inbox.default_assignee_id = None
        audit.record(
            session,
            actor_id=actor_id,
            action="inbox.update",
            target=inbox.name,
            details={"default_assignee_id": [user.id, None], "why": "assignee deactivated"},
        )
    session.flush()
    held = list(
        session.scalars(
            select(Conversation)
            .where(
                Conversation.assignee_id == user.id,
                Conversation.status == ConversationStatus.OPEN,
            )
            .order_by(Conversation.id)
        )
    )
    for conversation in held:
        home = session.get(Inbox, conversation.inbox_id)
        target = home.default_assignee_id if home is not None else None
        conversations.assign(
            session, conversation=conversation, assignee_id=target, actor_id=actor_id
        )
    audit.record(
        session,
        actor_id=actor_id,
        action="user.deactivate",
        target=user.email,
        details={"reassigned_conversations": len(held)},
    )
    return len(held)


def reactivate(session: Session, *, user: User, actor_id: int | None = None) -> None:
    """Let a deactivated user sign in again (their old conversations stay where they went)."""
    if user.is_active:
        raise SettingsError(f"{user.name} is active already")
    user.is_active = True
    audit.record(session, actor_id=actor_id, action="user.reactivate", target=user.email)


def issue_link(session: Session, *, user: User, actor_id: int | None = None) -> str:
    """A new set-password token for ``user``: an invitation (no password yet, valid 7 days) or
    a reset (valid 24 hours). Older unused links of the user stop working: only the newest
    one an admin handed out is good. Returns the token; only its hash is stored."""
    _retire_links(session, user.id)
    purpose = "reset" if user.password_hash else "invite"
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        PasswordToken(
            token_hash=_hash(token),
            user_id=user.id,
            purpose=purpose,
            created_by_id=actor_id,
            created_at=now,
            expires_at=now + LINK_LIFETIMES[purpose],
        )
    )
    return token


def user_for_token(session: Session, token: str) -> User:
    """The active user a set-password token is for; SettingsError if it is unknown, used,
    superseded by a newer link, or expired."""
    row = session.get(PasswordToken, _hash(token))
    if row is None:
        raise SettingsError("this link is not valid (a newer one may have replaced it)")
    if row.used_at is not None:
        raise SettingsError(
            "this link was used already or replaced by a newer one; ask an admin for a new one"
        )
    if row.expires_at <= utcnow():
        raise SettingsError("this link has expired; ask an admin for a new one")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise SettingsError("this link is no longer valid")
    return user


def set_password_with_token(session: Session, *, token: str, password: str) -> User:
    """Set the password of the token's user and use the token up, in one transaction: of two
    requests racing with one link, exactly one wins. Signs the user out everywhere."""
    user = user_for_token(session, token)
    _check_password(password)
    used = session.execute(
        update(PasswordToken)
        .where(
            PasswordToken.token_hash == _hash(token),
            PasswordToken.used_at.is_(None),
            PasswordToken.expires_at > utcnow(),
        )
        .values(used_at=utcnow())
    )
    if getattr(used, "rowcount", 0) != 1:
        raise SettingsError("this link was used already; ask an admin for a new one")
    set_password(session, user=user, password=password)
    return user


def set_password(session: Session, *, user: User, password: str) -> None:
    """Set a password: every set-password link made before stops working, and every session
    of the user ends (whoever knew the old password is signed out)."""
    _check_password(password)
    user.password_hash = hash_password(password)
    _retire_links(session, user.id)
    sessions.revoke_all(session, user_id=user.id)
    audit.record(session, actor_id=user.id, action="user.set_password", target=user.email)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise SettingsError(
            f"password: at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )


def _retire_links(session: Session, user_id: int) -> None:
    """Use up every open link of a user (a newer link, or a new password, replaces them)."""
    session.execute(
        update(PasswordToken)
        .where(PasswordToken.user_id == user_id, PasswordToken.used_at.is_(None))
        .values(used_at=utcnow())
    )


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_manager(session: Session, user: User, manager_id: int) -> None:
    manager = session.get(User, manager_id)
    if manager is None or not manager.is_active:
        raise SettingsError("manager: no such active user", field="manager_id")
    # Walk up from the manager: meeting ``user`` would make a loop (A manages B manages A).
    seen: set[int] = set()
    current: User | None = manager
    while current is not None and current.id not in seen:
        if current.id == user.id:
            raise SettingsError("manager: that would make a loop of managers", field="manager_id")
        seen.add(current.id)
        current = current.manager
