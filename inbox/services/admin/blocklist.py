"""The spam blocklist: numbers and contacts whose texts are kept but hidden.

Marking a conversation as spam (:func:`mark_spam`) blocks its number and contact and moves
every conversation from that number or contact to spam. Later inbound from them is stored on a
spam conversation and the inbound path does not signal the workflow's ``message_received``, so
no automation runs and nobody is notified. :func:`mark_not_spam` (or :func:`unblock` on the
settings page) lifts the block and restores their conversations to the status they had.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, delete, or_, select
from sqlalchemy.orm import Session

from inbox.models import (
    BlockedNumber,
    Contact,
    ContactEvent,
    ContactNumber,
    Conversation,
    ConversationStatus,
)
from inbox.phone import normalize_number
from inbox.services import conversations
from inbox.services.admin import audit


class BlocklistError(ValueError):
    """The block or unblock is not possible (already blocked, unknown entry …)."""


def is_blocked(session: Session, *, number: str, contact_id: int | None = None) -> bool:
    """True when ``number`` (E.164) or the contact is on the blocklist."""
    condition = BlockedNumber.number == number
    if contact_id is not None:
        condition = or_(condition, BlockedNumber.contact_id == contact_id)
    return session.scalars(select(BlockedNumber.id).where(condition).limit(1)).first() is not None


def entries(session: Session) -> list[BlockedNumber]:
    """Every entry, newest first."""
    return list(session.scalars(select(BlockedNumber).order_by(BlockedNumber.id.desc())))


def block_number(
    session: Session, *, number: str, actor_id: int | None = None, reason: str = ""
) -> BlockedNumber:
    """Block a number typed by hand; its conversations move to spam. Raises ``InvalidNumber``
    for a malformed number and :class:`BlocklistError` when it is blocked already."""
    e164 = normalize_number(number)
    if session.scalars(select(BlockedNumber).where(BlockedNumber.number == e164)).first():
        raise BlocklistError(f"{e164} is blocked already")
    entry = _add(session, number=e164, contact_id=None, actor_id=actor_id, reason=reason)
    _spam_all(session, numbers={e164}, contact_ids=set(), actor_id=actor_id, automation=None)
    return entry


def mark_spam(
    session: Session,
    *,
    conversation: Conversation,
    actor_id: int | None = None,
    automation: str | None = None,
) -> ContactEvent:
    """ "Mark as spam": the conversation goes to spam, its number and contact on the blocklist
    (those not blocked yet), and all their other conversations to spam too."""
    event = conversations.mark_spam(
        session, conversation=conversation, actor_id=actor_id, automation=automation
    )
    reason = f"conversation {conversation.id} marked as spam"
    if automation is not None:
        reason += f" by automation {automation!r}"
    number = conversation.contact_number
    if session.scalars(select(BlockedNumber).where(BlockedNumber.number == number)).first() is None:
        _add(session, number=number, contact_id=None, actor_id=actor_id, reason=reason)
    contact_id = conversation.contact_id
    existing = session.scalars(select(BlockedNumber).where(BlockedNumber.contact_id == contact_id))
    if existing.first() is None:
        _add(session, number=None, contact_id=contact_id, actor_id=actor_id, reason=reason)
    _spam_all(
        session,
        numbers={number},
        contact_ids={contact_id},
        actor_id=actor_id,
        automation=automation,
    )
    return event


def unblock(session: Session, *, entry: BlockedNumber, actor_id: int | None = None) -> int:
    """Remove one entry and restore the conversations no other entry still covers.

    Returns how many conversations were restored."""
    numbers = {entry.number} if entry.number else set()
    contact_ids = {entry.contact_id} if entry.contact_id is not None else set()
    audit.record(
        session,
        actor_id=actor_id,
        action="blocklist.unblock",
        target=_describe(session, entry),
        details={"number": entry.number, "contact_id": entry.contact_id},
    )
    session.delete(entry)
    session.flush()
    return _restore(session, numbers=numbers, contact_ids=contact_ids, actor_id=actor_id)


def mark_not_spam(
    session: Session, *, conversation: Conversation, actor_id: int | None = None
) -> int:
    """ "Mark as not spam": lift every entry for the conversation's number and contact (and the
    contact's other numbers), and restore all their spam conversations. Returns how many."""
    if conversation.status != ConversationStatus.SPAM:
        raise conversations.ConversationActionError(
            f"conversation {conversation.id} is {conversation.status}, not spam"
        )
    contact_numbers = set(
        session.scalars(
            select(ContactNumber.number).where(ContactNumber.contact_id == conversation.contact_id)
        )
    )
    numbers = contact_numbers | {conversation.contact_number}
    contact_ids = {conversation.contact_id}
    lifted = list(
        session.scalars(
            select(BlockedNumber).where(
                or_(
                    BlockedNumber.number.in_(numbers),
                    BlockedNumber.contact_id.in_(contact_ids),
                )
            )
        )
    )
    for entry in lifted:
        audit.record(
            session,
            actor_id=actor_id,
            action="blocklist.unblock",
            target=_describe(session, entry),
            details={"via": f"conversation {conversation.id} marked as not spam"},
        )
    session.execute(delete(BlockedNumber).where(BlockedNumber.id.in_([e.id for e in lifted])))
    return _restore(session, numbers=numbers, contact_ids=contact_ids, actor_id=actor_id)


def _add(
    session: Session,
    *,
    number: str | None,
    contact_id: int | None,
    actor_id: int | None,
    reason: str,
) -> BlockedNumber:
    entry = BlockedNumber(
        number=number, contact_id=contact_id, blocked_by_id=actor_id, reason=reason[:200]
    )
    session.add(entry)
    session.flush()
    audit.record(
        session,
        actor_id=actor_id,
        action="blocklist.block",
        target=_describe(session, entry),
        details={"number": number, "contact_id": contact_id, "reason": reason},
    )
    return entry


def _describe(session: Session, entry: BlockedNumber) -> str:
    if entry.number:
        return entry.number
    contact = session.get(Contact, entry.contact_id)
    return f"contact {contact.display_name if contact else entry.contact_id}"


def _from(numbers: set[str], contact_ids: set[int]) -> ColumnElement[bool]:
    """Conversations from any of these numbers or contacts."""
    clauses = []
    if numbers:
        clauses.append(Conversation.contact_number.in_(numbers))
    if contact_ids:
        clauses.append(Conversation.contact_id.in_(contact_ids))
    return or_(*clauses)


def _spam_all(
    session: Session,
    *,
    numbers: set[str],
    contact_ids: set[int],
    actor_id: int | None,
    automation: str | None,
) -> None:
    found = session.scalars(
        select(Conversation)
        .where(_from(numbers, contact_ids), Conversation.status != ConversationStatus.SPAM)
        .order_by(Conversation.id)
    )
    for conversation in list(found):
        conversations.mark_spam(
            session,
            conversation=conversation,
            actor_id=actor_id,
            automation=automation,
        )


def _restore(
    session: Session, *, numbers: set[str], contact_ids: set[int], actor_id: int | None
) -> int:
    found = session.scalars(
        select(Conversation)
        .where(_from(numbers, contact_ids), Conversation.status == ConversationStatus.SPAM)
        # Newest first: if two of them were open on one channel, the latest is the one reopened.
        .order_by(Conversation.id.desc())
    )
    restored = 0
    for conversation in list(found):
        if is_blocked(
            session, number=conversation.contact_number, contact_id=conversation.contact_id
        ):
            continue  # still covered by another entry
        conversations.mark_not_spam(session, conversation=conversation, actor_id=actor_id)
        restored += 1
    return restored
