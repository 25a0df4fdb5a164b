"""The reporting table: one row per countable event of a conversation (opened, closed, a
message in, a human reply ...), written when the event is stored, so that reports read this
table alone and never scan messages (``inbox.reporting``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from inbox.models.base import Base


class ReportFact(Base):
    """One event of one conversation, with the dimensions reports group by as they were when
    it happened (inbox, assignee, channel) and, for the time figures, its seconds (plain, and
    within the inbox's business hours).

    ``(conversation_id, kind, event_key)`` is unique: writing the same event again (a retried
    activity, a replayed signal) is ignored, so every event counts once."""

    __tablename__ = "report_facts"
    __table_args__ = (
        UniqueConstraint("conversation_id", "kind", "event_key"),
        Index("ix_report_facts_at", "at", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    event_key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    inbox_id: Mapped[int | None] = mapped_column(Integer)
    assignee_id: Mapped[int | None] = mapped_column(Integer)
    channel_id: Mapped[int | None] = mapped_column(Integer)
    seconds: Mapped[int | None] = mapped_column(Integer)
    # The same wait counting only the inbox's open hours (``inbox.rules.hours``), computed
    # when the fact is written; NULL for a fact written before there was this column and not
    # filled by its migration (reports count its plain seconds then).
    business_seconds: Mapped[int | None] = mapped_column(Integer)
