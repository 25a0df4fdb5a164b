"""Creating sign-in accounts, shared by ``inbox user create`` and the admins' Users page."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox.models import Role, User
from inbox.passwords import hash_password

MIN_PASSWORD_LENGTH = 8


def create_user(
    session: Session, *, email: str, name: str, role: str, password: str | None
) -> User:
    """Add a user (not committed). Raises ValueError naming the field at fault; a user created
    without a password cannot sign in until one is set."""
    email = email.strip().lower()
    if "@" not in email or " " in email or len(email) > 320:
        raise ValueError(f"email: {email!r} is not an email address")
    if not name.strip():
        raise ValueError("name: a name is required")
    if role not in {r.value for r in Role}:
        raise ValueError(f"role: must be one of {', '.join(r.value for r in Role)}")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise ValueError(f"email: a user with {email} exists already")
    user = User(
        email=email,
        name=name.strip(),
        role=role,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    session.flush()
    return user
