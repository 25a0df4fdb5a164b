"""SMS consent, per phone number for the whole business: the current state of each number, the
record of every change (for audits), and the compliance settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from inbox.models.base import Base, utcnow


class ConsentMethod:
    """How a number's consent changed."""

    KEYWORD = "keyword"  # the contact texted STOP, START …
    CARRIER = "carrier"  # the carrier refused a send: the number opted out there (21610)
    MANUAL = "manual"  # a person recorded it (a revocation in other words, a phone call …)


class ConsentState(Base):
    """Whether a number (E.164) may be texted, and how that came to be. No row: it may."""

    __tablename__ = "consent_states"

    number: Mapped[str] = mapped_column(String(32), primary_key=True)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    method: Mapped[str] = mapped_column(String(16))
    keyword: Mapped[str | None] = mapped_column(String(64))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id", ondelete="SET NULL"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsentRecord(Base):
    """One change of a number's consent: what the export for an audit lists."""

    __tablename__ = "consent_records"
    __table_args__ = (Index("ix_consent_records_number", "number", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32))
    # "opt_out" or "opt_in".
    action: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(16))
    keyword: Mapped[str | None] = mapped_column(String(64))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id", ondelete="SET NULL"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ComplianceSettings(Base):
    """The one row of compliance settings (id 1): keyword lists, quiet hours, the frequency
    cap. Missing values mean the defaults (``inbox/services/consent.py``)."""

    __tablename__ = "compliance_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    opt_out_words: Mapped[list[str]] = mapped_column(default=list)
    opt_in_words: Mapped[list[str]] = mapped_column(default=list)
    help_words: Mapped[list[str]] = mapped_column(default=list)
    # "08:00" and "21:00"; {"FL": ["08:00", "20:00"], ...}.
    quiet_start: Mapped[str] = mapped_column(String(5), default="08:00")
    quiet_end: Mapped[str] = mapped_column(String(5), default="21:00")
    state_windows: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Automated messages one contact may get in any 24 hours.
    automated_per_day: Mapped[int] = mapped_column(Integer, default=3)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
