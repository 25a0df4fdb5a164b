"""People and teams: users, inboxes, inbox membership, API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inbox.models.base import Base, utcnow
from inbox.models.enums import ApiKeyAccess, Role

inbox_members = Table(
    "inbox_members",
    Base.metadata,
    Column("inbox_id", ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)

# The inboxes an API key is limited to (used only when the key is not for all inboxes).
api_key_inboxes = Table(
    "api_key_inboxes",
    Base.metadata,
    Column("api_key_id", ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True),
    Column("inbox_id", ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default=Role.AGENT)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    notifications_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Per-user UI preferences (right panel hidden, list-view columns …).
    preferences: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    manager: Mapped[User | None] = relationship(remote_side=[id])
    inboxes: Mapped[list[Inbox]] = relationship(secondary=inbox_members, back_populates="members")


class Inbox(Base):
    __tablename__ = "inboxes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    default_assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # {"mon": [["09:00", "17:00"]], ...}; empty means always open.
    business_hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # ISO dates (["2026-12-25"]) on which the inbox is closed all day, in its time zone.
    holidays: Mapped[list[str]] = mapped_column(default=list, server_default=text("'[]'"))
    # SLA targets in minutes (None: none), counted in open hours when sla_business_hours.
    sla_first_response_minutes: Mapped[int | None] = mapped_column(Integer)
    sla_next_response_minutes: Mapped[int | None] = mapped_column(Integer)
    sla_resolution_minutes: Mapped[int | None] = mapped_column(Integer)
    sla_business_hours: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    default_assignee: Mapped[User | None] = relationship()
    members: Mapped[list[User]] = relationship(secondary=inbox_members, back_populates="inboxes")


class ApiKey(Base):
    """A bearer key for the JSON API. Only a SHA-256 of the secret is kept (it is random and
    long, so a slow hash adds nothing); ``prefix`` finds the row without scanning."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # Scopes. The server defaults give keys made before scopes existed the full access they had.
    access: Mapped[str] = mapped_column(
        String(16), default=ApiKeyAccess.READ_WRITE, server_default=ApiKeyAccess.READ_WRITE.value
    )
    all_inboxes: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))

    inboxes: Mapped[list[Inbox]] = relationship(secondary=api_key_inboxes, order_by="Inbox.name")

    @property
    def can_write(self) -> bool:
        return self.access == ApiKeyAccess.READ_WRITE
