"""In-app notifications for users: written by every source (a rule's ``notify``, a possible
opt-out, an @mention in a note, SLA deadlines …), shown in the notification centre."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from inbox.models.base import Base, utcnow


class NotificationKind(StrEnum):
    """Where a notification came from (the centre labels it; the API reports it)."""

    RULE = "rule"  # an automation rule's notify action (``automation`` names the rule)
    MENTION = "mention"  # an @mention in an internal note
    POSSIBLE_OPT_OUT = "possible_opt_out"  # a revocation in other words, for a person
    SLA = "sla"  # an SLA deadline at risk or breached
    OTHER = "other"


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(
        String(32), default=NotificationKind.OTHER, server_default=NotificationKind.OTHER.value
    )
    # Name of the rule that sent it (None for notifications from elsewhere).
    automation: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
