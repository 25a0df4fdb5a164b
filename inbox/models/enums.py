"""Closed sets of values stored as short strings (portable across SQLite and PostgreSQL)."""

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    AGENT = "agent"


class ApiKeyAccess(StrEnum):
    READ = "read"
    READ_WRITE = "read_write"


class ChannelType(StrEnum):
    SMS = "sms"


class ConversationStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    SPAM = "spam"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class MessageStatus(StrEnum):
    RECEIVED = "received"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"


class EventKind(StrEnum):
    """Kinds of contact-log / timeline events. Integrations may post CALL, PURCHASE and CUSTOM."""

    CONVERSATION_STARTED = "conversation_started"
    CONVERSATION_CLOSED = "conversation_closed"
    CONVERSATION_REOPENED = "conversation_reopened"
    ASSIGNED = "assigned"
    MOVED = "moved"
    MARKED_SPAM = "marked_spam"
    MARKED_NOT_SPAM = "marked_not_spam"
    CALL = "call"
    PURCHASE = "purchase"
    NOTE = "note"
    AUTOMATION = "automation"
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    CUSTOM = "custom"
