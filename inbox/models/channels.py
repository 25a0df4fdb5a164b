"""Channels: the numbers (or, later, addresses) conversations arrive on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
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
    # Who answers STOP, START and HELP: "app" (this inbox, with the texts below, or the
    # defaults when empty) or "provider" (a Twilio number whose Advanced Opt-Out replies itself:
    # the app records the change and sends nothing).
    consent_replies: Mapped[str] = mapped_column(String(16), default="app")
    opt_out_reply: Mapped[str] = mapped_column(Text, default="")
    opt_in_reply: Mapped[str] = mapped_column(Text, default="")
    help_reply: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    default_inbox: Mapped[Inbox] = relationship()
