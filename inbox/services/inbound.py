"""The inbound path: one SMS from a contact, stored once, in the right conversation, and
announced to that conversation's workflow.

Called by the provider webhook (``api/routes/webhooks.py``) and the simulator's phone page
through :func:`receive_and_commit`, which commits with the caller's ``commit`` (the request's:
it hands the stored workflow signal to Temporal once the response is sent). The numbers are
normalised here, where they enter: the routes pass them as the provider sent them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inbox.contracts import SIGNAL_MESSAGE_RECEIVED
from inbox.models import (
    Channel,
    Contact,
    ContactNumber,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    MessageStatus,
    utcnow,
)
from inbox.phone import normalize_number
from inbox.services import consent, snooze
from inbox.services.admin.blocklist import is_blocked
from inbox.services.conversations import (
    ConversationActionError,
    mark_spam,
    open_conversation,
    reopen,
    start_conversation,
)
from inbox.services.messages import add_to_conversation
from inbox.services.outbound import queue_message

log = logging.getLogger(__name__)

MAX_PROVIDER_ID_CHARS = 64


class UnknownChannel(LookupError):
    """No channel owns the number the message was sent to."""

    def __init__(self, number: str) -> None:
        super().__init__(f"no channel has the number {number}")
        self.number = number


@dataclass
class InboundResult:
    message: Message
    conversation: Conversation
    # False when this provider message id was stored before (a repeated webhook delivery).
    created: bool


def receive_inbound(
    session: Session,
    *,
    provider: str,
    provider_message_id: str,
    from_number: str,
    to_number: str,
    body: str,
    media: list[dict[str, Any]],
) -> InboundResult:
    """Store an inbound SMS once and route it.

    Inbound from a number or contact on the spam blocklist goes to a spam conversation and is
    hidden: stored, but no ``message_received`` signal (so no automation) and no alert.

    Finds or creates the contact by ``from_number``; the channel owning ``to_number`` routes a
    new conversation to its default inbox and that inbox's default assignee. The number's open
    conversation on the channel takes the message; failing that its latest closed one is
    reopened, and failing that a new one starts. Spam conversations keep taking messages and are
    not reopened. Raises ``InvalidNumber`` (its ``field`` naming ``from_number`` or
    ``to_number``) for a malformed number and :class:`UnknownChannel` (having written nothing)
    when no channel owns ``to_number``.

    Two requests racing for the same new contact, conversation or provider message id meet on a
    unique index: the loser gets ``IntegrityError`` (or ``ConversationActionError`` from starting
    the conversation) and must roll back and call again, when it finds the winner's rows.
    :func:`receive_and_commit` does that.
    """
    if not provider_message_id or len(provider_message_id) > MAX_PROVIDER_ID_CHARS:
        raise ValueError(f"provider message id must be 1 to {MAX_PROVIDER_ID_CHARS} characters")
    contact_number = normalize_number(from_number, field="from_number")
    channel_number = normalize_number(to_number, field="to_number")
    channel = session.scalars(select(Channel).where(Channel.number == channel_number)).first()
    if channel is None:
        raise UnknownChannel(channel_number)

    existing = _stored_message(session, provider, provider_message_id)
    if existing is not None:
        return _repeat(session, existing)

    contact = _find_or_create_contact(session, contact_number)
    if is_blocked(session, number=contact_number, contact_id=contact.id):
        conversation = _spam_conversation_for(session, channel, contact, contact_number)
    else:
        conversation = _conversation_for(session, channel, contact, contact_number)
        _attach_one_offs(session, conversation)
    # Spam is stored but hidden: the workflow is not told (so no automation runs and its
    # clocks ignore it) and the live event says so (so nobody is alerted).
    hidden = conversation.status == ConversationStatus.SPAM

    now = utcnow()
    message = Message(
        conversation_id=conversation.id,
        contact_id=contact.id,
        channel_id=channel.id,
        direction=Direction.INBOUND,
        body=body,
        media=list(media),
        from_number=contact_number,
        to_number=channel_number,
        provider=provider,
        provider_message_id=provider_message_id,
        status=MessageStatus.RECEIVED,
        created_at=now,
    )
    session.add(message)
    session.flush()
    # STOP, START and HELP are acted on at once, in this transaction (the record of an opt-out
    # and its one confirmation commit together); hidden spam is only stored.
    answer = (
        consent.InboundConsent()
        if hidden
        else consent.handle_inbound(
            session, message=message, conversation=conversation, channel=channel
        )
    )
    add_to_conversation(
        session,
        conversation=conversation,
        message=message,
        signal=None if hidden else SIGNAL_MESSAGE_RECEIVED,
        live_data={"contact_id": contact.id, "hidden": hidden},
        keyword=answer.keyword or "",
        review_by=answer.review_by,
    )
    if not hidden:
        snooze.end_on_reply(session, conversation)
    if answer.reply:
        queue_message(
            session,
            conversation=conversation,
            body=answer.reply,
            automated=True,
            automation=consent.CONSENT_PURPOSE,
            purpose=consent.CONSENT_PURPOSE,
        )
    return InboundResult(message=message, conversation=conversation, created=True)


def _stored_message(session: Session, provider: str, provider_message_id: str) -> Message | None:
    return session.scalars(
        select(Message).where(
            Message.provider == provider, Message.provider_message_id == provider_message_id
        )
    ).first()


def _repeat(session: Session, message: Message) -> InboundResult:
    log.info("inbound %s %s was stored before", message.provider, message.provider_message_id)
    conversation = session.get(Conversation, message.conversation_id)
    if conversation is None:
        raise LookupError(f"message {message.id} has no conversation")
    return InboundResult(message=message, conversation=conversation, created=False)


def _find_or_create_contact(session: Session, number: str) -> Contact:
    """The contact owning ``number`` (any of its numbers), or a new contact with just it."""
    found = _contact_with(session, number)
    if found is not None:
        return found
    contact = Contact(name="", numbers=[ContactNumber(number=number)])
    session.add(contact)
    session.flush()
    return contact


def _contact_with(session: Session, number: str) -> Contact | None:
    # One statement (not the number row, then its contact): this runs for every inbound text.
    return session.scalars(
        select(Contact).join(ContactNumber).where(ContactNumber.number == number).limit(1)
    ).first()


def _conversation_for(
    session: Session, channel: Channel, contact: Contact, number: str
) -> Conversation:
    """The conversation that takes the message: open, else the latest (reopened if closed,
    kept if spam), else a new one."""
    conversation = open_conversation(session, channel.id, number)
    if conversation is not None:
        return conversation
    latest = _latest_locked(session, channel.id, number)
    if latest is not None and latest.status == ConversationStatus.SPAM:
        return latest
    if latest is not None and latest.status == ConversationStatus.CLOSED:
        reopen(session, conversation=latest)
        return latest
    if latest is not None and latest.status == ConversationStatus.OPEN:
        return latest  # reopened by another request while we waited for the lock
    return start_conversation(session, channel=channel, contact=contact, number=number)


# One-off texts younger than this join the conversation the contact's reply lands in.
ONE_OFF_CONTEXT = timedelta(days=30)


def _attach_one_offs(session: Session, conversation: Conversation) -> None:
    """Texts we sent this number from this channel outside any conversation (a welcome, a
    reminder) join the conversation the contact's reply lands in, so the agent sees what the
    contact is answering. They keep their ids and times, so the timeline shows them where they
    were sent; their delivery stays with the one-off workflow that sent them."""
    session.execute(
        update(Message)
        .where(
            Message.conversation_id.is_(None),
            Message.channel_id == conversation.channel_id,
            Message.to_number == conversation.contact_number,
            Message.direction == Direction.OUTBOUND,
            Message.created_at >= utcnow() - ONE_OFF_CONTEXT,
        )
        .values(conversation_id=conversation.id)
        .execution_options(synchronize_session=False)
    )


def _latest_locked(session: Session, channel_id: int, number: str) -> Conversation | None:
    """The newest conversation with ``number`` on the channel, locked (PostgreSQL) so two
    messages arriving together change it once, and re-read, because the other transaction may
    have changed it while we waited."""
    return session.scalars(
        select(Conversation)
        .where(Conversation.channel_id == channel_id, Conversation.contact_number == number)
        .order_by(Conversation.id.desc())
        .limit(1)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _spam_conversation_for(
    session: Session, channel: Channel, contact: Contact, number: str
) -> Conversation:
    """Where a blocked sender's message goes: their latest conversation on the channel, marked
    spam if it is not yet, else a new conversation created as spam (with no workflow signal:
    a hidden conversation starts no workflow and so runs no automation)."""
    latest = _latest_locked(session, channel.id, number)
    if latest is not None:
        if latest.status != ConversationStatus.SPAM:
            mark_spam(session, conversation=latest)
        return latest
    conversation = start_conversation(session, channel=channel, contact=contact, number=number)
    conversation.status = ConversationStatus.SPAM
    conversation.closed_at = conversation.created_at
    return conversation


# A retry after a lost race finds the winner's rows; more than two retries means something else.
_RACE_ATTEMPTS = 3


def receive_and_commit(
    session: Session,
    commit: Callable[[], object],
    *,
    provider: str,
    provider_message_id: str,
    from_number: str,
    to_number: str,
    body: str,
    media: list[dict[str, Any]],
    also: Callable[[Session, InboundResult], None] | None = None,
) -> InboundResult:
    """:func:`receive_inbound` committed with ``commit``, tried again when a concurrent request
    for the same contact won a unique index. Returns objects readable after commit.

    ``also`` runs in the same transaction after the message is stored (the simulator notes the
    text on its phone there: one commit per inbound, not two).
    """
    for attempt in range(1, _RACE_ATTEMPTS + 1):
        try:
            result = receive_inbound(
                session,
                provider=provider,
                provider_message_id=provider_message_id,
                from_number=from_number,
                to_number=to_number,
                body=body,
                media=media,
            )
            if also is not None:
                also(session, result)
            commit()
            return result
        except (IntegrityError, ConversationActionError):
            session.rollback()
            if attempt == _RACE_ATTEMPTS:
                raise
            log.info("inbound lost a race with a concurrent request; retrying (%d)", attempt)
    raise AssertionError("unreachable")
