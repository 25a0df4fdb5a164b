"""What sign-in keeps on the server: sessions, sign-in throttles and one-time password links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from inbox.models.base import Base, utcnow


class WebSession(Base):
    """One signed-in browser. The cookie carries a random token; only its SHA-256 is kept, so
    a copy of this table signs nobody in. Deleting the row signs that browser out at once."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    client_address: Mapped[str] = mapped_column(String(64), default="")


class SignInThrottle(Base):
    """Failed sign-ins counted for one key (``account:<email>`` or ``address:<ip>``), so every
    web process sees the same count."""

    __tablename__ = "sign_in_throttles"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_failure_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]


class PasswordToken(Base):
    """A one-time set-password link (an invitation or a reset). Only the token's SHA-256 is
    kept; ``used_at`` is set by the one request that consumes it."""

    __tablename__ = "password_tokens"
    __table_args__ = (Index("ix_password_tokens_user", "user_id", "used_at"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))  # "invite" or "reset"
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
