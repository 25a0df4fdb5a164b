"""The outbox relay: signals that must reach a workflow, stored with the change they announce."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from inbox.models.base import Base, utcnow


class PendingSignal(Base):
    """Written in the same transaction as the change it announces (a stored message, a close);
    deleted once Temporal has taken the signal-with-start. Rows left here (Temporal was
    unreachable) are retried, in order per workflow, by the relay."""

    __tablename__ = "pending_signals"

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(100), index=True)
    workflow_type: Mapped[str] = mapped_column(String(100))
    # The workflow's input, used only if the signal has to start it.
    start_input: Mapped[dict[str, Any]] = mapped_column(default=dict)
    signal: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
