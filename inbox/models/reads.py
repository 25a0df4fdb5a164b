"""Per-user read state: which conversations each agent has seen, and which they marked unread."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from inbox.models.base import Base, utcnow


class ConversationRead(Base):
    """How far one user has read one conversation.

    A conversation is unread for a user when it has an inbound message with an id above
    ``last_read_message_id`` (or no row exists and it has any inbound message), or when the user
    marked it unread. Message ids only grow, so comparing ids needs no clock agreement.
    """

    __tablename__ = "conversation_reads"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    last_read_message_id: Mapped[int] = mapped_column(Integer, default=0)
    marked_unread: Mapped[bool] = mapped_column(Boolean, default=False)
    read_at: Mapped[datetime] = mapped_column(default=utcnow)
