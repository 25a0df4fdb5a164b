"""Web sign-in sessions kept in the app database, so signing out (or being deactivated) ends a
session at once, on every web process.

The browser's cookie holds a random token; the table keeps only its SHA-256 (the token is 256
random bits, so a fast hash is as safe at rest as a slow one). A session ends when it is
deleted, when it has been idle longer than the idle lifetime, or when it reaches its absolute
lifetime, whichever comes first.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from inbox.models import User, WebSession, utcnow

# Writing last_seen_at on every request would turn each page view into a write; a minute is
# far finer than any idle lifetime.
TOUCH_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class Lifetimes:
    """How long a session may sit unused, and how long it may live at all."""

    idle: timedelta
    absolute: timedelta


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, *, user: User, user_agent: str = "", client_address: str = "") -> str:
    """Record a new session for ``user`` (not committed); returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            token_hash=hash_token(token),
            user_id=user.id,
            user_agent=user_agent[:200],
            client_address=client_address[:64],
        )
    )
    return token


def expired(row: WebSession, lifetimes: Lifetimes, now: datetime) -> bool:
    return now - row.last_seen_at > lifetimes.idle or now - row.created_at > lifetimes.absolute


def resolve(
    session: Session, token: str, lifetimes: Lifetimes, *, now: datetime | None = None
) -> tuple[WebSession, User] | None:
    """The live session for ``token`` and its (active) user, or None. An expired session is
    deleted; a live one is touched at most once a minute, committed at once so that pages
    which write nothing still count as use."""
    now = now or utcnow()
    found = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.token_hash == hash_token(token))
    ).first()
    if found is None:
        return None
    row, user = found
    if expired(row, lifetimes, now) or not user.is_active:
        session.delete(row)
        session.commit()
        return None
    if now - row.last_seen_at >= TOUCH_RESOLUTION:
        row.last_seen_at = now
        session.commit()
    return row, user


def still_valid(session: Session, token_hash: str, lifetimes: Lifetimes) -> bool:
    """True while the session exists, is within its lifetimes and its user is active (for a
    long-lived stream, which checks again now and then)."""
    found = session.execute(
        select(WebSession, User.is_active)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.token_hash == token_hash)
    ).first()
    if found is None:
        return False
    row, active = found
    return bool(active) and not expired(row, lifetimes, utcnow())


def end(session: Session, token: str) -> None:
    """Delete one session (sign out); the caller commits."""
    session.execute(delete(WebSession).where(WebSession.token_hash == hash_token(token)))


def revoke_all(session: Session, *, user_id: int) -> int:
    """Delete every session of a user (sign out everywhere, deactivation, a new password);
    returns how many there were. The caller commits."""
    result = session.execute(delete(WebSession).where(WebSession.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


def of_user(session: Session, user_id: int) -> list[WebSession]:
    """A user's sessions, most recently used first."""
    return list(
        session.scalars(
            select(WebSession)
            .where(WebSession.user_id == user_id)
            .order_by(WebSession.last_seen_at.desc())
        )
    )


def prune(session: Session, lifetimes: Lifetimes, *, now: datetime | None = None) -> None:
    """Delete sessions past either lifetime (a signed-out browser never comes back to do it)."""
    now = now or utcnow()
    session.execute(
        delete(WebSession).where(
            (WebSession.last_seen_at < now - lifetimes.idle)
            | (WebSession.created_at < now - lifetimes.absolute)
        )
    )
