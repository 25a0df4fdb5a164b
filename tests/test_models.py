import pytest
from sqlalchemy.exc import IntegrityError

from inbox.models import Conversation, ConversationStatus


def test_only_one_open_conversation_per_number_and_channel(factory, session):
    convo = factory.conversation()
    session.add(
        Conversation(
            channel_id=convo.channel_id,
            contact_id=convo.contact_id,
            inbox_id=convo.inbox_id,
            contact_number=convo.contact_number,
        )
    )
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    convo.status = ConversationStatus.CLOSED
    session.commit()
    session.add(
        Conversation(
            channel_id=convo.channel_id,
            contact_id=convo.contact_id,
            inbox_id=convo.inbox_id,
            contact_number=convo.contact_number,
        )
    )
    session.commit()


def test_datetimes_come_back_in_utc(factory):
    convo = factory.conversation()
    assert convo.created_at.tzinfo is not None
