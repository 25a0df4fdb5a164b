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
from inbox.models.relay import PendingSignal
from inbox.models.simulator import SimulatorMessage
from inbox.models.users import ApiKey, Inbox, User, inbox_members

__all__ = [
    "ApiKey",
    "Base",
    "Channel",
    "ChannelType",
    "Contact",
    "ContactEvent",
    "ContactNumber",
    "Conversation",
    "ConversationStatus",
    "Direction",
    "EventKind",
    "Inbox",
    "LiveEvent",
    "Message",
    "MessageStatus",
    "PendingSignal",
    "Role",
    "SimulatorMessage",
    "User",
    "inbox_members",
    "utcnow",
]
