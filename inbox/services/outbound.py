"""Sending: queue a message (the row exists before any provider is called), and apply the
provider's status reports to it.

Delivery itself is the ``deliver_message`` activity (``activities/sms.py``), run by the
conversation workflow on ``message_sent`` or by ``SendMessageWorkflow`` for a one-off SMS.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from inbox import live
from inbox.contracts import (
    SEND_MESSAGE_WORKFLOW_TYPE,
    SIGNAL_HOLD_CANCELLED,
    SIGNAL_MESSAGE_HELD,
    SIGNAL_MESSAGE_SENT,
    SIGNAL_SEND,
    ConversationEvent,
    SendMessageInput,
    message_workflow_id,
)
from inbox.models import (
    Channel,
    Contact,
    Conversation,
    ConversationStatus,
    Direction,
    EarlyStatusReport,
    EventKind,
    Message,
    MessageStatus,
    User,
    utcnow,
)
from inbox.relay import enqueue, enqueue_conversation_signal
from inbox.services import consent, contact_log
from inbox.services.messages import add_to_conversation, preview

log = logging.getLogger(__name__)

# Twilio's limit for one message body (it splits it into segments itself).
MAX_BODY_CHARS = 1600

# Statuses only move forward: a late "sent" callback never undoes "delivered". The three final
# statuses share a rank, so the first final report wins.
_RANK = {
    MessageStatus.HELD: -1,
    MessageStatus.QUEUED: 0,
    MessageStatus.SENDING: 1,
    MessageStatus.SENT: 2,
    MessageStatus.DELIVERED: 3,
    MessageStatus.UNDELIVERED: 3,
    MessageStatus.FAILED: 3,
    MessageStatus.BLOCKED: 3,
    MessageStatus.CANCELLED: 3,
}


class OutboundBlocked(ValueError):
    """The message may not be sent; ``reason`` says why in words an agent understands, and
    ``code`` for machines (``opted_out``; empty for a message that is itself at fault)."""

    def __init__(self, reason: str, code: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


def _check_sendable(
    session: Session,
    number: str,
    body: str,
    media: list[dict[str, Any]] | None,
    purpose: str = "",
) -> None:
    blocked = consent.send_blocked(session, number, purpose)
    if blocked is not None:
        raise OutboundBlocked(
            f"{number} {blocked.reason[:1].lower()}{blocked.reason[1:]}; nothing can be sent "
            "to it until the contact texts START",
            blocked.code,
        )
    if not body.strip() and not media:
        raise OutboundBlocked("the message is empty")
    if len(body) > MAX_BODY_CHARS:
        raise OutboundBlocked(
            f"the message is {len(body)} characters long; the limit is {MAX_BODY_CHARS}"
        )


def _channel_number(channel: Channel) -> str:
    if not channel.number:
        raise OutboundBlocked(f"channel {channel.name!r} has no SMS number to send from")
    return channel.number


def queue_message(
    session: Session,
    *,
    conversation: Conversation,
    body: str,
    media: list[dict[str, Any]] | None = None,
    author_id: int | None = None,
    automated: bool = False,
    automation: str | None = None,
    purpose: str = "",
    held_until: datetime | None = None,
) -> Message:
    """Store an outbound message in ``conversation`` (status queued, or held until
    ``held_until``) and tell its workflow, which delivers it (when its hold ends). Raises
    :class:`OutboundBlocked` when it may not be sent."""
    if conversation.status == ConversationStatus.SPAM:
        raise OutboundBlocked(f"conversation {conversation.id} is marked as spam")
    _check_sendable(session, conversation.contact_number, body, media, purpose)
    now = utcnow()
    message = Message(
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
        channel_id=conversation.channel_id,
        direction=Direction.OUTBOUND,
        body=body,
        media=list(media or []),
        from_number=_channel_number(conversation.channel),
        to_number=conversation.contact_number,
        author_id=author_id,
        automated=automated,
        automation=automation,
        # The provider is recorded by the delivery activity, when it first hands the message over.
        provider="",
        status=MessageStatus.QUEUED if held_until is None else MessageStatus.HELD,
        held_until=held_until,
        purpose=purpose,
        created_at=now,
    )
    return add_to_conversation(
        session,
        conversation=conversation,
        message=message,
        signal=SIGNAL_MESSAGE_SENT if held_until is None else SIGNAL_MESSAGE_HELD,
        automated=automated,
        author_id=author_id,
        by_automation=automation is not None,
        held_until=held_until,
    )


def queue_one_off(
    session: Session,
    *,
    contact: Contact,
    number: str,
    channel: Channel,
    body: str,
    automated: bool = False,
    automation: str | None = None,
) -> Message:
    """Store an SMS to ``contact`` outside any conversation (a welcome text, a receipt) and
    start ``SendMessageWorkflow`` to deliver it. The conversation begins if the contact replies.
    ``number`` (E.164) must be one of the contact's numbers."""
    to_number = number
    if to_number not in {n.number for n in contact.numbers}:
        raise OutboundBlocked(f"{to_number} is not one of {contact.display_name}'s numbers")
    _check_sendable(session, to_number, body, None)
    message = Message(
        conversation_id=None,
        contact_id=contact.id,
        channel_id=channel.id,
        direction=Direction.OUTBOUND,
        body=body,
        media=[],
        from_number=_channel_number(channel),
        to_number=to_number,
        automated=automated,
        automation=automation,
        provider="",
        status=MessageStatus.QUEUED,
        created_at=utcnow(),
    )
    session.add(message)
    session.flush()
    # The contact log shows it (no conversation holds it until the contact replies).
    contact_log.write(
        session,
        contact=contact,
        conversation=None,
        kind=EventKind.SMS_SENT,
        summary=f"Text sent from {channel.name}: \u201c{preview(body)[:120]}\u201d",
        data={"message_id": message.id, "number": to_number},
        automation=automation,
    )
    start = SendMessageInput(message_id=message.id)
    enqueue(
        session,
        workflow_id=message_workflow_id(message.id),
        workflow_type=SEND_MESSAGE_WORKFLOW_TYPE,
        signal=SIGNAL_SEND,
        payload=start,
        start_input=start,
    )
    return message


# How long a status report for an id no message carries is kept for its message to appear.
EARLY_REPORT_RETENTION = timedelta(days=1)


# The provider's code for "the number opted out at the carrier" (Twilio 21610).
CARRIER_OPT_OUT_CODE = "21610"


def _advance(
    session: Session,
    message: Message,
    status: str,
    error_code: str | None,
    error_message: str | None,
) -> bool:
    """:func:`advance_status`, keeping the provider's reason when it is a failure (and
    recording the opt-out a carrier reports)."""
    if not advance_status(message, status):
        return False
    if status in (MessageStatus.FAILED, MessageStatus.UNDELIVERED):
        message.error_code = error_code
        message.error_message = error_message
        if error_code == CARRIER_OPT_OUT_CODE:
            consent.record_carrier_opt_out(session, message)
    return True


def lock_provider_id(session: Session, provider: str, provider_message_id: str) -> None:
    """Serialise, until this transaction ends, with every other transaction that stores or
    applies a report for this provider id (PostgreSQL; SQLite has one writer at a time).

    Without it a status callback and the send storing the id can miss each other: under READ
    COMMITTED the callback finds no message with the id and keeps an early report while the
    send, not yet seeing that report, stores the id; both commit and the report is never
    applied (the production drill saw 5 of 40 auto-replies stuck at "sent").
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.blake2b(f"{provider}:{provider_message_id}".encode(), digest_size=8)
    key = int.from_bytes(digest.digest(), "big", signed=True)
    # Before this transaction writes its pending changes (no autoflush), so it holds no row
    # lock while it waits.
    with session.no_autoflush:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def store_provider_id(
    session: Session, message: Message, provider: str, provider_message_id: str | None
) -> bool:
    """Record the id the provider gave ``message`` and apply the reports that arrived before
    it (in the order they came; never backwards). Returns whether the status changed."""
    if provider_message_id is not None:
        lock_provider_id(session, provider, provider_message_id)
    message.provider = provider
    message.provider_message_id = provider_message_id
    if provider_message_id is None:
        return False
    changed = False
    early = session.scalars(
        select(EarlyStatusReport)
        .where(
            EarlyStatusReport.provider == provider,
            EarlyStatusReport.provider_message_id == provider_message_id,
        )
        .order_by(EarlyStatusReport.id)
    ).all()
    for report in early:
        changed = (
            _advance(session, message, report.status, report.error_code, report.error_message)
            or changed
        )
        session.delete(report)
    return changed


def advance_status(message: Message, status: str) -> bool:
    """Move ``message`` to ``status`` unless it is already as far or further; stamps
    ``sent_at``/``delivered_at``. Returns whether anything changed."""
    new = MessageStatus(status)
    if new not in _RANK:
        return False  # "received" is an inbound status, not a step of delivery
    # StrEnum members hash as their values, so the stored string finds its rank.
    current = _RANK.get(message.status, -1)  # type: ignore[call-overload]
    if _RANK[new] <= current:
        return False
    now = utcnow()
    message.status = new
    if _RANK[new] >= _RANK[MessageStatus.SENT] and message.sent_at is None:
        message.sent_at = now
    if new == MessageStatus.DELIVERED:
        message.delivered_at = now
    return True


def publish_message_update(session: Session, message: Message) -> None:
    """Tell live pages that a message's delivery status changed."""
    conversation = (
        session.get(Conversation, message.conversation_id) if message.conversation_id else None
    )
    live.publish(
        session,
        live.MESSAGE_UPDATED,
        conversation_id=message.conversation_id,
        inbox_id=conversation.inbox_id if conversation is not None else None,
        data={"message_id": message.id, "status": message.status},
    )


def apply_status_update(
    session: Session,
    *,
    provider: str,
    provider_message_id: str,
    status: str,
    error_code: str | None = None,
    error_message: str | None = None,
) -> Message | None:
    """Apply a provider's delivery report (Twilio's status webhook, the simulator).

    Returns the message, or None when no message has that provider id yet: the report is kept
    (:class:`EarlyStatusReport`) and applied when the send stores the id
    (:func:`store_provider_id`), because Twilio can call back before the send activity has
    stored the SID its REST call returned. Never moves a message backwards.
    """
    lock_provider_id(session, provider, provider_message_id)
    message = session.scalars(
        select(Message).where(
            Message.provider == provider, Message.provider_message_id == provider_message_id
        )
    ).first()
    if message is None:
        log.info(
            "status %s for %s message %s, not known yet: kept until its send stores the id",
            status,
            provider,
            provider_message_id,
        )
        session.add(
            EarlyStatusReport(
                provider=provider,
                provider_message_id=provider_message_id,
                status=status,
                error_code=error_code,
                error_message=error_message,
            )
        )
        # Reports that never match (a message another system sent on the account) go away.
        session.execute(
            delete(EarlyStatusReport).where(
                EarlyStatusReport.received_at < utcnow() - EARLY_REPORT_RETENTION
            )
        )
        return None
    if not _advance(session, message, status, error_code, error_message):
        return message
    publish_message_update(session, message)
    return message


def cancel_held(session: Session, *, message: Message, actor: User) -> None:
    """Cancel a held message (quiet hours, or sent later) before it goes; its workflow forgets
    the hold. Raises :class:`OutboundBlocked` when it is not held any more."""
    if message.status != MessageStatus.HELD or message.conversation_id is None:
        raise OutboundBlocked(f"message {message.id} is {message.status}, not held")
    message.status = MessageStatus.CANCELLED
    message.error_message = f"Cancelled by {actor.name} before it went"
    publish_message_update(session, message)
    enqueue_conversation_signal(
        session,
        message.conversation_id,
        SIGNAL_HOLD_CANCELLED,
        ConversationEvent(key=f"hold-cancelled-{message.id}", at=utcnow(), message_id=message.id),
    )
