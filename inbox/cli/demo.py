"""Demo data for the embedded default: a small team, two numbers, a few contacts and conversations.

``inbox dev`` loads it into an empty database; ``inbox demo`` does the same on demand. It writes
the models directly (no provider, no workflow code) and enqueues one outbox signal per
conversation, so the relay starts each conversation's workflow as soon as Temporal is reachable.
"""

from __future__ import annotations

import logging
import struct
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox.contracts import SIGNAL_CLOSED, SIGNAL_MESSAGE_RECEIVED, ConversationEvent
from inbox.media import store_image
from inbox.models import (
    CannedReply,
    CannedScope,
    Channel,
    Contact,
    ContactEvent,
    ContactNumber,
    Conversation,
    ConversationStatus,
    Direction,
    EventKind,
    Inbox,
    Message,
    MessageStatus,
    Role,
    User,
    utcnow,
)
from inbox.passwords import hash_password
from inbox.relay import enqueue_conversation_signal
from inbox.settings import Settings

log = logging.getLogger(__name__)

DEMO_PASSWORD = "demo1234"
DEMO_USERS = (
    ("admin@demo.test", "Ada Admin", Role.ADMIN),
    ("manager@demo.test", "Morgan Manager", Role.MANAGER),
    ("agent@demo.test", "Alex Agent", Role.AGENT),
    ("agent2@demo.test", "Sam Agent", Role.AGENT),
)
MAIN_LINE = "+14155550100"
SALES_LINE = "+14155550101"


class DemoRefused(RuntimeError):
    """The database already holds data; demo data goes only into an empty one."""


@dataclass
class DemoSummary:
    """What was loaded, for the CLI to print."""

    users: list[str] = field(default_factory=list)
    password: str = DEMO_PASSWORD
    channels: list[str] = field(default_factory=list)
    contacts: int = 0
    conversations: int = 0
    messages: int = 0
    signals: int = 0


def database_is_empty(session: Session) -> bool:
    """True when there is no user, inbox, channel or contact yet (a brand-new installation)."""
    for model in (User, Inbox, Channel, Contact):
        if session.scalar(select(func.count()).select_from(model)):
            return False
    return True


def has_demo_users(session: Session) -> bool:
    """True when the demo accounts exist (so their published password works here)."""
    emails = [email for email, _, _ in DEMO_USERS]
    return bool(
        session.scalar(select(func.count()).select_from(User).where(User.email.in_(emails)))
    )


def load_demo(
    session: Session,
    *,
    now: datetime | None = None,
    start_workflows: bool = True,
    settings: Settings | None = None,
) -> DemoSummary:
    """Fill an empty database with demo data (the caller commits).

    Raises :class:`DemoRefused` when the database is not empty, so real data is never mixed
    with demo rows. With ``start_workflows`` each conversation gets a pending signal that the
    outbox relay delivers, starting its workflow.
    """
    if not database_is_empty(session):
        raise DemoRefused(
            "the database already has data; demo data is loaded only into an empty database"
        )
    now = now or utcnow()
    summary = DemoSummary()
    users = _users(session, summary)
    support, sales = _inboxes(session, users)
    main_line = Channel(name="Main line", number=MAIN_LINE, default_inbox=support)
    sales_line = Channel(name="Sales line", number=SALES_LINE, default_inbox=sales)
    session.add_all([main_line, sales_line])
    summary.channels = [f"Main line {MAIN_LINE} -> Support", f"Sales line {SALES_LINE} -> Sales"]
    contacts = _contacts(session)
    summary.contacts = len(contacts)
    session.flush()

    builder = _ConversationBuilder(session, now, summary)
    jordan, priya, marcus, elena = contacts
    agent, agent2 = users["agent@demo.test"], users["agent2@demo.test"]
    _canned_replies(session, support, sales, agent)

    late_order = builder.start(jordan, jordan.numbers[0].number, main_line, agent, ago_min=130)
    builder.inbound(late_order, "Hi! My order #1042 still hasn't arrived. Any news?", ago_min=130)
    builder.outbound(
        late_order, "Sorry about that, Jordan! Let me check with the carrier.", agent, 118
    )
    builder.inbound(late_order, "Thanks. Tracking says it's stuck in Oakland since Monday.", 20)
    builder.event(
        late_order,
        EventKind.PURCHASE,
        "Order #1042: 2 x sourdough starter kit, $86.00",
        {"order": "1042", "amount": 86.0, "currency": "USD"},
        ago_min=4320,
    )

    annual = builder.start(priya, priya.numbers[0].number, sales_line, agent2, ago_min=35)
    builder.event(
        annual,
        EventKind.CALL,
        "Inbound call, 4 min: asked about pricing",
        {"direction": "inbound", "duration_seconds": 240},
        ago_min=1440,
    )
    builder.inbound(annual, "Do you offer a discount for annual plans?", ago_min=35)

    resolved = builder.start(marcus, marcus.numbers[0].number, main_line, agent, ago_min=2900)
    builder.inbound(resolved, "Is the store open on Sunday?", ago_min=2900)
    builder.outbound(resolved, "Hi Marcus, yes: 10am to 4pm on Sundays.", agent, ago_min=2870)
    builder.inbound(resolved, "Perfect, thanks!", ago_min=2860)
    builder.close(resolved, agent, ago_min=2850)

    second_number = builder.start(jordan, jordan.numbers[1].number, sales_line, agent2, ago_min=6)
    builder.inbound(second_number, "Can I add a second location to our plan?", ago_min=6)

    photo = builder.start(elena, elena.numbers[0].number, main_line, None, ago_min=3)
    # With a data folder the photo is a real file there, so its thumbnail shows; without one
    # it is a link like a provider's (the tests' databases have no data folder).
    picture = (
        store_image(settings, _cracked_lid_png())
        if settings is not None
        else {"url": "https://example.com/demo/cracked-lid.jpg", "content_type": "image/jpeg"}
    )
    builder.inbound(
        photo, "The lid on my jar arrived cracked, photo attached.", ago_min=3, media=[picture]
    )
    session.flush()

    if start_workflows:
        builder.enqueue_signals()
    log.info(
        "demo data: %d users, %d contacts, %d conversations, %d messages",
        len(summary.users),
        summary.contacts,
        summary.conversations,
        summary.messages,
    )
    return summary


def _cracked_lid_png(size: int = 160) -> bytes:
    """A small picture for the demo's MMS: an amber lid with a dark crack across it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    rows = bytearray()
    for y in range(size):
        rows.append(0)  # no filter
        for x in range(size):
            crack = abs(x - y - (8 if x % 20 < 10 else -8) * (x % 10) / 10) < 2.5
            rows += bytes((60, 40, 30) if crack else (214, 160, 70))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows)))
        + chunk(b"IEND", b"")
    )


def _users(session: Session, summary: DemoSummary) -> dict[str, User]:
    # One hash for all four: Argon2 is slow on purpose, and the salt only guards against
    # precomputed tables, which a published demo password defeats anyway.
    password_hash = hash_password(DEMO_PASSWORD)
    users = {
        email: User(email=email, name=name, role=role, password_hash=password_hash)
        for email, name, role in DEMO_USERS
    }
    manager = users["manager@demo.test"]
    for email in ("agent@demo.test", "agent2@demo.test"):
        users[email].manager = manager
    session.add_all(users.values())
    summary.users = [f"{email} ({role})" for email, _, role in DEMO_USERS]
    return users


def _inboxes(session: Session, users: dict[str, User]) -> tuple[Inbox, Inbox]:
    admin, manager = users["admin@demo.test"], users["manager@demo.test"]
    agent, agent2 = users["agent@demo.test"], users["agent2@demo.test"]
    support = Inbox(
        name="Support",
        default_assignee=agent,
        members=[admin, manager, agent, agent2],
        timezone="America/Los_Angeles",
        business_hours={day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
        # SLA targets in open hours: a reply within the hour, a close within 3 working days.
        sla_first_response_minutes=60,
        sla_next_response_minutes=120,
        sla_resolution_minutes=3 * 8 * 60,
        sla_business_hours=True,
    )
    sales = Inbox(
        name="Sales",
        default_assignee=agent2,
        members=[admin, manager, agent2],
        timezone="America/Los_Angeles",
        sla_first_response_minutes=15,  # leads go cold: always open, every minute counts
    )
    session.add_all([support, sales])
    return support, sales


def _canned_replies(session: Session, support: Inbox, sales: Inbox, agent: User) -> None:
    """One reply of each scope, so ``/`` in the composer has something to offer."""
    session.add_all(
        [
            CannedReply(
                scope=CannedScope.SHARED,
                title="Shipping times",
                body="Hi {{ contact.first_name }}, orders ship within 2 business days; "
                "you get a tracking link by text.",
            ),
            CannedReply(
                scope=CannedScope.INBOX,
                inbox_id=support.id,
                title="Store hours",
                body="We're open Mon-Fri 9am-5pm and Sundays 10am-4pm.",
            ),
            CannedReply(
                scope=CannedScope.INBOX,
                inbox_id=sales.id,
                title="Annual plan discount",
                body="Annual plans get two months free, {{ contact.first_name }}.",
            ),
            CannedReply(
                scope=CannedScope.PERSONAL,
                owner_id=agent.id,
                title="Sign-off",
                body="Thanks! {{ agent.first_name }}",
            ),
        ]
    )


def _contacts(session: Session) -> list[Contact]:
    # 555-01xx numbers are reserved for fiction: they never reach a real phone.
    jordan = Contact(
        name="Jordan Lee",
        email="jordan@leebakery.example",
        timezone="America/Los_Angeles",
        fields={"company": "Lee Bakery", "plan": "pro", "customer_since": "2023-04-01"},
        numbers=[
            ContactNumber(number="+12025550143", label="mobile"),
            ContactNumber(number="+12025550178", label="work"),
        ],
    )
    priya = Contact(
        name="Priya Shah",
        email="priya@shahdental.example",
        timezone="America/New_York",
        fields={"company": "Shah Dental", "plan": "trial"},
        numbers=[ContactNumber(number="+13105550122", label="mobile")],
    )
    marcus = Contact(
        name="Marcus Chen",
        timezone="America/Chicago",
        fields={"source": "website"},
        numbers=[ContactNumber(number="+16465550190", label="mobile")],
    )
    elena = Contact(
        name="Elena Rossi",
        fields={"plan": "basic", "vip": "yes"},
        numbers=[ContactNumber(number="+13125550164", label="mobile")],
    )
    contacts = [jordan, priya, marcus, elena]
    session.add_all(contacts)
    return contacts


class _ConversationBuilder:
    """Writes a conversation's messages and events and keeps its clocks consistent with them."""

    def __init__(self, session: Session, now: datetime, summary: DemoSummary) -> None:
        self._session = session
        self._now = now
        self._summary = summary
        self._conversations: list[Conversation] = []
        self._sequence = 0

    def _at(self, ago_min: int) -> datetime:
        return self._now - timedelta(minutes=ago_min)

    def start(
        self, contact: Contact, number: str, channel: Channel, assignee: User | None, ago_min: int
    ) -> Conversation:
        at = self._at(ago_min)
        conversation = Conversation(
            contact=contact,
            contact_number=number,
            channel=channel,
            inbox=channel.default_inbox,
            assignee=assignee,
            status=ConversationStatus.OPEN,
            created_at=at,
            last_message_at=at,
        )
        self._session.add(conversation)
        self._session.flush()
        self.event(
            conversation,
            EventKind.CONVERSATION_STARTED,
            f"Conversation on {channel.name}",
            {},
            ago_min=ago_min,
        )
        self._conversations.append(conversation)
        self._summary.conversations += 1
        return conversation

    def _message(
        self,
        conversation: Conversation,
        direction: Direction,
        body: str,
        ago_min: int,
        author: User | None = None,
        media: list[dict[str, str]] | None = None,
    ) -> Message:
        at = self._at(ago_min)
        self._sequence += 1
        inbound = direction == Direction.INBOUND
        channel_number = conversation.channel.number or ""
        message = Message(
            conversation_id=conversation.id,
            contact_id=conversation.contact_id,
            channel_id=conversation.channel_id,
            direction=direction,
            body=body,
            media=media or [],
            from_number=conversation.contact_number if inbound else channel_number,
            to_number=channel_number if inbound else conversation.contact_number,
            author_id=author.id if author else None,
            provider="simulator",
            provider_message_id=f"DEMO{self._sequence:06d}",
            status=MessageStatus.RECEIVED if inbound else MessageStatus.DELIVERED,
            send_attempts=0 if inbound else 1,
            created_at=at,
            sent_at=None if inbound else at,
            delivered_at=None if inbound else at,
        )
        self._session.add(message)
        conversation.last_message_at = at
        if inbound or not conversation.last_message_preview:
            conversation.last_message_preview = body[:200]
        self._summary.messages += 1
        return message

    def inbound(
        self,
        conversation: Conversation,
        body: str,
        ago_min: int,
        media: list[dict[str, str]] | None = None,
    ) -> Message:
        message = self._message(conversation, Direction.INBOUND, body, ago_min, media=media)
        conversation.first_inbound_at = conversation.first_inbound_at or message.created_at
        conversation.last_inbound_at = message.created_at
        return message

    def outbound(
        self, conversation: Conversation, body: str, author: User, ago_min: int
    ) -> Message:
        message = self._message(conversation, Direction.OUTBOUND, body, ago_min, author=author)
        conversation.last_outbound_at = message.created_at
        if conversation.first_response_at is None and conversation.first_inbound_at is not None:
            conversation.first_response_at = message.created_at
            conversation.time_to_first_response_seconds = int(
                (message.created_at - conversation.first_inbound_at).total_seconds()
            )
        return message

    def close(self, conversation: Conversation, actor: User, ago_min: int) -> None:
        at = self._at(ago_min)
        conversation.status = ConversationStatus.CLOSED
        conversation.closed_at = at
        conversation.time_to_close_seconds = int((at - conversation.created_at).total_seconds())
        self.event(
            conversation,
            EventKind.CONVERSATION_CLOSED,
            f"Closed by {actor.name}",
            {},
            ago_min=ago_min,
            author=actor,
        )

    def event(
        self,
        conversation: Conversation,
        kind: EventKind,
        summary: str,
        data: dict[str, object],
        ago_min: int,
        author: User | None = None,
    ) -> ContactEvent:
        at = self._at(ago_min)
        event = ContactEvent(
            contact_id=conversation.contact_id,
            conversation_id=conversation.id,
            kind=kind,
            summary=summary,
            data=data,
            author_id=author.id if author else None,
            occurred_at=at,
            created_at=at,
        )
        self._session.add(event)
        return event

    def enqueue_signals(self) -> None:
        """One signal per conversation (its latest cause), so the relay starts its workflow."""
        for conversation in self._conversations:
            if conversation.status == ConversationStatus.CLOSED:
                signal, key, message_id = (
                    SIGNAL_CLOSED,
                    f"{SIGNAL_CLOSED}-demo-{conversation.id}",
                    None,
                )
                at = conversation.closed_at or self._now
            else:
                last = self._session.scalars(
                    select(Message)
                    .where(
                        Message.conversation_id == conversation.id,
                        Message.direction == Direction.INBOUND,
                    )
                    .order_by(Message.id.desc())
                    .limit(1)
                ).one()
                signal, key, at, message_id = (
                    SIGNAL_MESSAGE_RECEIVED,
                    f"msg-{last.id}",
                    last.created_at,
                    last.id,
                )
            enqueue_conversation_signal(
                self._session,
                conversation.id,
                signal,
                ConversationEvent(
                    key=key,
                    at=at,
                    message_id=message_id,
                    inbox_id=conversation.inbox_id,
                    assignee_id=conversation.assignee_id,
                ),
            )
            self._summary.signals += 1
