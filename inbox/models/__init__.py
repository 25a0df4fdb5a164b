"""All models, imported here so ``Base.metadata`` knows every table."""

from inbox.models.base import Base, utcnow
from inbox.models.channels import Channel
from inbox.models.contacts import Contact, ContactEvent, ContactNumber
from inbox.models.conversations import Conversation, Message
from inbox.models.enums import (
    ChannelType,
    ConversationStatus,
    Direction,
    EventKind,
    MessageStatus,
    Role,
)
from inbox.models.live import LiveEvent
from inbox.models.notifications import Notification
from inbox.models.reads import ConversationRead
from inbox.models.relay import PendingSignal
from inbox.models.rules import RoundRobinCursor, RuleAction, RuleRun
from inbox.models.settings import (
    AuditLog,
    BlockedNumber,
    CustomFieldDefinition,
    ImportJob,
    ImportRowError,
)
from inbox.models.simulator import SimulatorMessage
from inbox.models.users import ApiKey, Inbox, User, inbox_members

__all__ = [
    "ApiKey",
    "AuditLog",
    "Base",
    "BlockedNumber",
    "Channel",
    "ChannelType",
    "Contact",
    "ContactEvent",
    "ContactNumber",
    "Conversation",
    "ConversationRead",
    "ConversationStatus",
    "CustomFieldDefinition",
    "Direction",
    "EventKind",
    "ImportJob",
    "ImportRowError",
    "Inbox",
    "LiveEvent",
    "Message",
    "MessageStatus",
    "Notification",
    "PendingSignal",
    "Role",
    "RoundRobinCursor",
    "RuleAction",
    "RuleRun",
    "SimulatorMessage",
    "User",
    "inbox_members",
    "utcnow",
]
