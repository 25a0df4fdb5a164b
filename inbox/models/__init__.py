"""All models, imported here so ``Base.metadata`` knows every table."""

from sqlalchemy import event

from inbox.models.base import Base, utcnow
from inbox.models.canned import CannedReply, CannedScope
from inbox.models.channels import Channel
from inbox.models.consent import ComplianceSettings, ConsentMethod, ConsentRecord, ConsentState
from inbox.models.contacts import Contact, ContactEvent, ContactNumber
from inbox.models.conversations import Conversation, Message
from inbox.models.delivery import EarlyStatusReport
from inbox.models.enums import (
    ApiKeyAccess,
    ChannelType,
    ConversationStatus,
    Direction,
    EventKind,
    MessageStatus,
    Role,
)
from inbox.models.live import LiveEvent
from inbox.models.notifications import Notification, NotificationKind
from inbox.models.reads import ConversationRead
from inbox.models.relay import PendingSignal
from inbox.models.reports import ReportDay, ReportFact
from inbox.models.rules import RoundRobinCursor, RuleAction, RuleRun
from inbox.models.security import PasswordToken, SignInThrottle, WebSession
from inbox.models.settings import (
    AuditLog,
    BlockedNumber,
    CustomFieldDefinition,
    ImportJob,
    ImportRowError,
)
from inbox.models.simulator import SimulatorMessage
from inbox.models.users import ApiKey, Inbox, User, api_key_inboxes, inbox_members
from inbox.search_index import create_search_index, drop_search_index

# The search index (FTS5 tables and triggers, or trigram indexes) is DDL the models cannot
# describe; create_all and drop_all make and remove it with the tables.
event.listen(
    Base.metadata, "after_create", lambda _t, connection, **_kw: create_search_index(connection)
)
event.listen(
    Base.metadata, "before_drop", lambda _t, connection, **_kw: drop_search_index(connection)
)

__all__ = [
    "ApiKey",
    "ApiKeyAccess",
    "AuditLog",
    "Base",
    "BlockedNumber",
    "CannedReply",
    "CannedScope",
    "Channel",
    "ChannelType",
    "ComplianceSettings",
    "ConsentMethod",
    "ConsentRecord",
    "ConsentState",
    "Contact",
    "ContactEvent",
    "ContactNumber",
    "Conversation",
    "ConversationRead",
    "ConversationStatus",
    "CustomFieldDefinition",
    "Direction",
    "EarlyStatusReport",
    "EventKind",
    "ImportJob",
    "ImportRowError",
    "Inbox",
    "LiveEvent",
    "Message",
    "MessageStatus",
    "Notification",
    "NotificationKind",
    "PasswordToken",
    "PendingSignal",
    "ReportDay",
    "ReportFact",
    "Role",
    "RoundRobinCursor",
    "RuleAction",
    "RuleRun",
    "SignInThrottle",
    "SimulatorMessage",
    "User",
    "WebSession",
    "api_key_inboxes",
    "inbox_members",
    "utcnow",
]
