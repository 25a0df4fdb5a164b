"""The reporting table: one row per countable event of a conversation (opened, closed, a
message in, a human reply ...), written when the event is stored, so that reports read this
table alone and never scan messages (``inbox.reporting``)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
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


class ReportDay(Base):
    """The facts of one UTC day for one inbox, assignee and channel (0: none), summed as
    they are written (``inbox.reporting.days``): a year's report per agent reads a few
    thousand of these rows instead of a million facts.

    The counts are counters; each time figure is the list of its seconds as text
    (``"00000078000001c8"``: 8 hex digits a value, appended to with ``||``), plain and in
    business hours, so medians and 90th percentiles over any range stay exact (they do not add
    up the way counts do)."""

    __tablename__ = "report_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    inbox_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignee_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    opened: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    closed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reopened: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    messages_in: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    messages_out: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sla_met: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sla_breached: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    first_response: Mapped[str] = mapped_column(Text, default="", server_default="")
    first_response_business: Mapped[str] = mapped_column(Text, default="", server_default="")
    close: Mapped[str] = mapped_column(Text, default="", server_default="")
    close_business: Mapped[str] = mapped_column(Text, default="", server_default="")
    reply: Mapped[str] = mapped_column(Text, default="", server_default="")
    reply_business: Mapped[str] = mapped_column(Text, default="", server_default="")
