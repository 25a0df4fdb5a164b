"""Delivery reports that arrived before the message they describe was known by its provider id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from inbox.models.base import Base, utcnow


class EarlyStatusReport(Base):
    """A provider status callback for a message id no message carries yet.

    Twilio can call back ("sent", even "failed") before the send activity has stored the SID
    that its REST call returned. The report waits here and is applied when the SID is stored
    (``inbox.services.outbound.store_provider_id``); reports that never match (a message sent
    by another system on the same account) are pruned after a day.
    """

    __tablename__ = "early_status_reports"
    __table_args__ = (Index("ix_early_status_reports_message", "provider", "provider_message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_message_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
