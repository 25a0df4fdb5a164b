"""Channels: the numbers (or, later, addresses) conversations arrive on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inbox.models.base import Base, utcnow
from inbox.models.enums import ChannelType
from inbox.models.users import Inbox


class Channel(Base):
    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16), default=ChannelType.SMS)
    # E.164 for SMS; each number belongs to one channel. Email channels would use ``address``.
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    default_inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    default_inbox: Mapped[Inbox] = relationship()
