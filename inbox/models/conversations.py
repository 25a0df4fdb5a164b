"""Conversations and their messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inbox.models.base import Base, utcnow
from inbox.models.channels import Channel
from inbox.models.contacts import Contact
from inbox.models.enums import ConversationStatus
from inbox.models.users import Inbox, User


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        # At most one open conversation per contact number and channel: two inbound messages
        # racing for a new contact cannot start two conversations.
        Index(
            "uq_conversations_open_per_number",
            "channel_id",
            "contact_number",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        # The views: a status (and an inbox or an assignee), newest message first or order
        # added; the trailing id matches the views' tie-break, so no sort step is needed.
        Index("ix_conversations_status_last_message", "status", "last_message_at", "id"),
        Index("ix_conversations_status_created", "status", "created_at", "id"),
        Index("ix_conversations_inbox_status", "inbox_id", "status", "last_message_at", "id"),
        Index("ix_conversations_assignee_status", "assignee_id", "status", "last_message_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id"))
    contact_number: Mapped[str] = mapped_column(String(32))  # E.164
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=ConversationStatus.OPEN)
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    tags: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_message_preview: Mapped[str] = mapped_column(String(200), default="")
    # The clocks, written by the conversation workflow.
    first_inbound_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    last_inbound_at: Mapped[datetime | None]
    last_outbound_at: Mapped[datetime | None]
    last_response_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    time_to_first_response_seconds: Mapped[int | None] = mapped_column(Integer)
    time_to_close_seconds: Mapped[int | None] = mapped_column(Integer)
    # A message of this conversation that may revoke consent in other words, until a person
    # decides (a banner). No foreign key: a message goes only with its conversation.
    possible_opt_out_message_id: Mapped[int | None] = mapped_column(Integer)
    # Snoozed until then (``inbox.contracts.SNOOZE_UNTIL_REPLY``: until the contact writes);
    # a snoozed conversation is left out of the open views (inbox/services/snooze.py).
    snoozed_until: Mapped[datetime | None]
    # The running SLA deadline due first (inbox/services/sla.py, written by the workflow's
    # store step): the list's "due soonest" order and its badge. Past: overdue.
    sla_target: Mapped[str | None] = mapped_column(String(32))
    sla_at_risk_at: Mapped[datetime | None]
    sla_due_at: Mapped[datetime | None] = mapped_column(index=True)

    contact: Mapped[Contact] = relationship()
    channel: Mapped[Channel] = relationship()
    inbox: Mapped[Inbox] = relationship()
    assignee: Mapped[User | None] = relationship()


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("provider", "provider_message_id"),
        Index("ix_messages_conversation", "conversation_id", "id"),
        # "Unread": is there an inbound message newer than what the agent read (one seek).
        Index("ix_messages_conversation_direction", "conversation_id", "direction", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for a one-off SMS sent outside any conversation.
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    direction: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text, default="")
    media: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    from_number: Mapped[str] = mapped_column(String(32))
    to_number: Mapped[str] = mapped_column(String(32))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    automated: Mapped[bool] = mapped_column(Boolean, default=False)
    automation: Mapped[str | None] = mapped_column(String(200))  # rule name when automated
    provider: Mapped[str] = mapped_column(String(32))
    provider_message_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(Text)
    send_attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    # Status "held": when it goes (the end of quiet hours, or the time it was scheduled for).
    held_until: Mapped[datetime | None]
    # "consent" for the inbox's own replies to STOP, START and HELP (they reach an opted-out
    # number: the one confirmation of its opt-out); "" for every other message.
    purpose: Mapped[str] = mapped_column(String(16), default="")

    author: Mapped[User | None] = relationship()
