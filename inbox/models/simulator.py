"""The SMS simulator's phone log: what it "delivered" to contacts and what contacts texted in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from inbox.models.base import Base, utcnow


class SimulatorMessage(Base):
    __tablename__ = "simulator_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    # Our outbound message id: the simulator refuses to send the same one twice, as a real
    # provider reconciliation would find it.
    client_ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    direction: Mapped[str] = mapped_column(String(8))  # "outbound" = to the contact's phone
    from_number: Mapped[str] = mapped_column(String(32))
    to_number: Mapped[str] = mapped_column(String(32), index=True)
    body: Mapped[str] = mapped_column(Text, default="")
    media: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default="delivered")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
