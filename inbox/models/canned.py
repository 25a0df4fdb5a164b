"""Canned replies: saved answers an agent inserts in the composer by typing ``/``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from inbox.models.base import Base, utcnow


class CannedScope(StrEnum):
    """Who may use a reply: everyone, the agents of one inbox, or its owner alone."""

    SHARED = "shared"  # the whole business (admins manage them)
    INBOX = "inbox"  # conversations of ``inbox_id`` (admins manage them)
    PERSONAL = "personal"  # ``owner_id``'s own (only they see and manage them)


class CannedReply(Base):
    """One saved reply: a title (what the ``/`` picker searches) and a body with merge fields,
    rendered when the message is sent, like anything typed in the composer.

    ``inbox_id`` is set exactly for inbox replies, ``owner_id`` exactly for personal ones."""

    __tablename__ = "canned_replies"
    __table_args__ = (Index("ix_canned_replies_scope", "scope", "inbox_id", "owner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inboxes.id", ondelete="CASCADE"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
