"""The spam blocklist: marking spam blocks the sender everywhere, their later texts are kept
but hidden (no workflow signal, so no automation; no alert), and "not spam" restores them."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from inbox.contracts import (
    SIGNAL_MARKED_NOT_SPAM,
    SIGNAL_MARKED_SPAM,
    SIGNAL_MESSAGE_RECEIVED,
    SIGNAL_REOPENED,
)
from inbox.models import (
    AuditLog,
    BlockedNumber,
    Channel,
    ContactEvent,
    ConversationStatus,
    EventKind,
    LiveEvent,
    PendingSignal,
)
from inbox.phone import InvalidNumber
from inbox.services import conversations
from inbox.services.admin import blocklist
from inbox.services.inbound import InboundResult
from tests import factories

SPAMMER = "+12025550166"


def text_in(
    session: Session, channel: Channel, number: str = SPAMMER, body: str = "buy now"
) -> InboundResult:
    return factories.text_in(session, channel, number, body)


def signals(session: Session) -> list[str]:
    return [row.signal for row in session.scalars(select(PendingSignal).order_by(PendingSignal.id))]


def clear_signals(session: Session) -> None:
    session.execute(delete(PendingSignal))
    session.commit()


def test_mark_spam_blocks_number_and_contact_and_moves_all_their_conversations(factory, session):
    admin = factory.user(name="Ada")
    first, second = factory.channel(), factory.channel()
    open_one = text_in(session, first).conversation
    closed_one = text_in(session, second).conversation
    conversations.close(session, conversation=closed_one)
    other_contact = text_in(session, first, number="+12025550111").conversation
    session.commit()
    clear_signals(session)

    blocklist.mark_spam(session, conversation=open_one, actor_id=admin.id)
    session.commit()

    assert open_one.status == closed_one.status == ConversationStatus.SPAM
    assert other_contact.status == ConversationStatus.OPEN
    blocked = session.scalars(select(BlockedNumber).order_by(BlockedNumber.id)).all()
    assert [(b.number, b.contact_id) for b in blocked] == [
        (SPAMMER, None),
        (None, open_one.contact_id),
    ]
    assert all(b.blocked_by_id == admin.id for b in blocked)
    assert signals(session) == [SIGNAL_MARKED_SPAM, SIGNAL_MARKED_SPAM]
    actions = [a.action for a in session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert actions == ["blocklist.block", "blocklist.block"]


def test_inbound_from_blocked_sender_is_stored_hidden_without_signal(factory, session):
    channel = factory.channel()
    conversation = text_in(session, channel).conversation
    blocklist.mark_spam(session, conversation=conversation)
    session.commit()
    clear_signals(session)

    result = text_in(session, channel, body="still spamming")

    assert result.created and result.conversation.id == conversation.id
    assert result.conversation.status == ConversationStatus.SPAM
    assert result.message.body == "still spamming"
    assert signals(session) == []  # the workflow never hears it: no automation runs
    live = session.scalars(select(LiveEvent).order_by(LiveEvent.id.desc())).first()
    assert live is not None and live.data["hidden"] is True


def test_blocked_sender_on_a_new_channel_gets_a_new_spam_conversation(factory, session):
    first, second = factory.channel(), factory.channel()
    conversation = text_in(session, first).conversation
    blocklist.mark_spam(session, conversation=conversation)
    session.commit()
    clear_signals(session)

    result = text_in(session, second)

    assert result.conversation.id != conversation.id
    assert result.conversation.status == ConversationStatus.SPAM
    assert signals(session) == []


def test_hand_blocked_number_moves_conversations_and_hides_new_texts(factory, session):
    channel = factory.channel()
    conversation = text_in(session, channel).conversation
    clear_signals(session)

    entry = blocklist.block_number(session, number="(202) 555-0166", reason="robocaller")
    session.commit()

    assert entry.number == SPAMMER and entry.reason == "robocaller"
    assert conversation.status == ConversationStatus.SPAM
    assert text_in(session, channel).conversation.status == ConversationStatus.SPAM
    with pytest.raises(blocklist.BlocklistError, match="blocked already"):
        blocklist.block_number(session, number=SPAMMER)
    with pytest.raises(InvalidNumber):
        blocklist.block_number(session, number="not a number")


def test_not_spam_lifts_the_block_and_restores_open_and_closed(factory, session):
    first, second = factory.channel(), factory.channel()
    was_open = text_in(session, first).conversation
    was_closed = text_in(session, second).conversation
    conversations.close(session, conversation=was_closed)
    blocklist.mark_spam(session, conversation=was_open)
    session.commit()
    clear_signals(session)

    restored = blocklist.mark_not_spam(session, conversation=was_open)
    session.commit()

    assert restored == 2
    assert was_open.status == ConversationStatus.OPEN and was_open.closed_at is None
    assert was_closed.status == ConversationStatus.CLOSED
    assert session.scalars(select(BlockedNumber)).first() is None
    # The reopened one's workflow hears ``reopened``; the closed one's, back from spam to closed.
    assert sorted(signals(session)) == sorted([SIGNAL_REOPENED, SIGNAL_MARKED_NOT_SPAM])
    kinds = session.scalars(
        select(ContactEvent.kind).where(ContactEvent.conversation_id == was_open.id)
    ).all()
    assert kinds[-1] == EventKind.MARKED_NOT_SPAM
    clear_signals(session)
    assert text_in(session, first).conversation.id == was_open.id
    assert signals(session) == [SIGNAL_MESSAGE_RECEIVED]  # automation runs again
    with pytest.raises(conversations.ConversationActionError, match="not spam"):
        blocklist.mark_not_spam(session, conversation=was_open)


def test_unblock_restores_only_what_no_other_entry_covers(factory, session):
    channel = factory.channel()
    conversation = text_in(session, channel).conversation
    blocklist.mark_spam(session, conversation=conversation)
    session.commit()
    number_entry, contact_entry = session.scalars(
        select(BlockedNumber).order_by(BlockedNumber.id)
    ).all()

    assert blocklist.unblock(session, entry=number_entry) == 0  # the contact is still blocked
    assert conversation.status == ConversationStatus.SPAM
    assert blocklist.unblock(session, entry=contact_entry) == 1
    session.commit()
    assert conversation.status == ConversationStatus.OPEN


def test_restoring_an_open_conversation_beside_a_newer_open_one_closes_it(factory, session):
    channel = factory.channel()
    conversation = text_in(session, channel).conversation
    conversations.mark_spam(session, conversation=conversation)
    factory.conversation(channel=channel, contact=conversation.contact)  # a newer open one
    conversations.mark_not_spam(session, conversation=conversation)
    assert conversation.status == ConversationStatus.CLOSED
