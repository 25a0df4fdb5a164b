"""What automation did: one row per rule run, one per action (the idempotency record)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from inbox.models.base import Base, utcnow


class RuleRun(Base):
    """One evaluation of a rule on a conversation: fired (with its actions) or skipped (why).

    ``run_key`` (conversation, rule, trigger key) is unique, so a retried record is stored once.
    """

    __tablename__ = "rule_runs"
    __table_args__ = (Index("ix_rule_runs_conversation", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_key: Mapped[str] = mapped_column(String(300), unique=True)
    rule: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[str] = mapped_column(String(32))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    trigger: Mapped[str] = mapped_column(String(32))
    trigger_key: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16))  # fired | skipped | failed
    reason: Mapped[str] = mapped_column(Text, default="")
    # [{"kind": "send_sms", "status": "done", "detail": "queued message 12"}, ...]
    actions: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    triggered_at: Mapped[datetime | None]
    evaluated_at: Mapped[datetime | None]
    # Indexed: runs and action records older than the retention are pruned by age.
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class RuleAction(Base):
    """An action executed by automation, keyed by (conversation, rule, trigger key, action
    index): written in the same transaction as the action's effect, so a retry after a worker
    crash finds it and does not act twice."""

    __tablename__ = "rule_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    rule: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # done | skipped | failed
    detail: Mapped[str] = mapped_column(Text, default="")
    # What the action did to the conversation, as the events its workflow applies
    # ([{"signal": "message_sent", "event": {...}}]): a retry returns them, not only the status.
    events: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    # Indexed: runs and action records older than the retention are pruned by age.
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class RoundRobinCursor(Base):
    """The member of an inbox who was last assigned by round robin."""

    __tablename__ = "round_robin_cursors"

    inbox_id: Mapped[int] = mapped_column(
        ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True
    )
    last_user_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
