"""Users: create or invite, role, manager, deactivate and reactivate.

An invitation is a signed, expiring link (itsdangerous, keyed by the app's secret) that carries
the user id and a fingerprint of the current password hash: setting a password changes the
hash, so each link works once, and no token table is needed.
"""

from __future__ import annotations

import hashlib

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.auth import MIN_PASSWORD_LENGTH, create_user
from inbox.models import Conversation, ConversationStatus, Inbox, Role, User
from inbox.passwords import hash_password
from inbox.services import conversations
from inbox.services.admin import audit
from inbox.services.admin.errors import SettingsError

INVITE_SALT = "inbox-set-password"
INVITE_MAX_AGE_SECONDS = 7 * 24 * 3600


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
    """Create a user; without ``password`` it is an invitation (see :func:`invite_token`)."""
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
    """Stop ``user`` signing in; their open conversations go back to each inbox's default
    assignee (unassigned when that is them or nobody), each through ``assign`` so the timeline
    and the workflow hear it. Inboxes whose default assignee they were get none. Returns how
    many conversations were reassigned."""
    if user.id == actor_id:
        raise SettingsError("you cannot deactivate yourself")
    if not user.is_active:
        raise SettingsError(f"{user.name} is deactivated already")
    user.is_active = False
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


def invite_token(user: User, secret_key: str) -> str:
    """A set-password token for ``user``, valid once and for seven days."""
    return _serializer(secret_key).dumps({"uid": user.id, "fp": _fingerprint(user)})


def user_for_token(session: Session, token: str, secret_key: str) -> User:
    """The active user a set-password token is for; SettingsError if it is bad, expired or
    used (the password changed since it was made)."""
    try:
        data = _serializer(secret_key).loads(token, max_age=INVITE_MAX_AGE_SECONDS)
    except SignatureExpired as exc:
        raise SettingsError("this link has expired; ask an admin for a new one") from exc
    except BadSignature as exc:
        raise SettingsError("this link is not valid") from exc
    user = session.get(User, data.get("uid")) if isinstance(data, dict) else None
    if user is None or not user.is_active or data.get("fp") != _fingerprint(user):
        raise SettingsError("this link was used already or is no longer valid")
    return user


def set_password(session: Session, *, user: User, password: str) -> None:
    """Set a password (invalidating every set-password link made before)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise SettingsError(
            f"password: at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    user.password_hash = hash_password(password)
    audit.record(session, actor_id=user.id, action="user.set_password", target=user.email)


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=INVITE_SALT)


def _fingerprint(user: User) -> str:
    return hashlib.sha256((user.password_hash or "none").encode()).hexdigest()[:16]


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
