"""Closed sets of values stored as short strings (portable across SQLite and PostgreSQL)."""

from enum import StrEnum

# The statuses the workflows share live with the other contracts.
from inbox.contracts import ConversationStatus, Direction, MessageStatus

__all__ = [
    "ChannelType",
    "ConversationStatus",
    "Direction",
    "EventKind",
    "MessageStatus",
    "Role",
]


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    AGENT = "agent"


class ApiKeyAccess(StrEnum):
    READ = "read"
    READ_WRITE = "read_write"


class ChannelType(StrEnum):
    SMS = "sms"


class EventKind(StrEnum):
    """Kinds of contact-log / timeline events. Integrations may post CALL, PURCHASE and CUSTOM."""

    CONVERSATION_STARTED = "conversation_started"
    CONVERSATION_CLOSED = "conversation_closed"
    CONVERSATION_REOPENED = "conversation_reopened"
    ASSIGNED = "assigned"
    MOVED = "moved"
    MARKED_SPAM = "marked_spam"
    MARKED_NOT_SPAM = "marked_not_spam"
    TAGGED = "tagged"
    UNTAGGED = "untagged"
    CALL = "call"
    PURCHASE = "purchase"
    NOTE = "note"
    AUTOMATION = "automation"
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    # A message that may revoke consent in other words, for a person to decide.
    POSSIBLE_OPT_OUT = "possible_opt_out"
    # A text sent to the contact outside any conversation (a one-off from the API).
    SMS_SENT = "sms_sent"
    # Another contact (the same person) was merged into this one.
    MERGED = "merged"
    # Edits in the inbox's right panel (inbox.services.contact_fields).
    FIELD_CHANGED = "field_changed"
    NUMBER_ADDED = "number_added"
    NUMBER_REMOVED = "number_removed"
    # "Snoozed until …" and "Back from snooze" (inbox/services/snooze.py).
    SNOOZED = "snoozed"
    UNSNOOZED = "unsnoozed"
    # An SLA deadline at risk or breached (inbox/services/sla.py).
    SLA = "sla"
    CUSTOM = "custom"
