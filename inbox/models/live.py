"""A feed of changes for live pages (server-sent events), shared by every web process."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from inbox.models.base import Base, utcnow


class LiveEvent(Base):
    """One change a page may want to show: a new message, a status change, an assignment.

    Written in the same transaction as the change (so a page never hears of something that was
    rolled back); web processes read the feed in id order. Old rows are pruned.
    """

    __tablename__ = "live_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    conversation_id: Mapped[int | None] = mapped_column(Integer)
    inbox_id: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
