"""The inbound path as a service: routing, contacts, reopening, spam, repeats and races."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from inbox import relay
from inbox.contracts import SIGNAL_MESSAGE_RECEIVED, SIGNAL_REOPENED
from inbox.models import (
    Contact,
    ContactEvent,
    ContactNumber,
    Conversation,
    ConversationStatus,
    Message,
    PendingSignal,
)
from inbox.phone import InvalidNumber
from inbox.services.inbound import (
    InboundResult,
    UnknownChannel,
    receive_and_commit,
    receive_inbound,
)


def receive(session, channel, *, sid, from_number="+12025550143", body="hi") -> InboundResult:
    result = receive_inbound(
        session,
        provider="simulator",
        provider_message_id=sid,
        from_number=from_number,
        to_number=channel.number,
        body=body,
        media=[],
    )
    session.commit()
    return result


def count(session, model) -> int:
    return int(session.scalar(select(func.count()).select_from(model)))


def test_numbers_are_normalised_and_a_contact_created_once(factory, session):
    channel = factory.channel(number="+14155550100")
    first = receive(session, channel, sid="SM1", from_number="(202) 555-0143")
    second = receive(session, channel, sid="SM2", from_number="+1 202 555 0143")
    assert first.message.from_number == "+12025550143"
    assert first.conversation.id == second.conversation.id
    assert count(session, Contact) == 1
    assert [e.kind for e in session.scalars(select(ContactEvent))] == ["conversation_started"]
    keys = [
        row.payload["key"]
        for row in session.scalars(select(PendingSignal).order_by(PendingSignal.id))
    ]
    assert keys == [f"msg-{first.message.id}", f"msg-{second.message.id}"]


def test_contact_with_several_numbers(factory, session):
    """Each number has its own conversation on a channel (replies go to the number that texted);
    both belong to the one contact."""
    channel = factory.channel()
    contact = factory.contact(number="+12025550143")
    contact.numbers.append(ContactNumber(number="+12025550144", label="work"))
    session.commit()
    mobile = receive(session, channel, sid="SM1", from_number="+12025550143")
    work = receive(session, channel, sid="SM2", from_number="+12025550144")
    assert mobile.conversation.contact_id == work.conversation.contact_id == contact.id
    assert mobile.conversation.id != work.conversation.id
    assert work.conversation.contact_number == "+12025550144"
    assert count(session, Contact) == 1


def test_repeat_returns_the_stored_message_and_enqueues_nothing(factory, session):
    channel = factory.channel()
    first = receive(session, channel, sid="SM1")
    again = receive(session, channel, sid="SM1", body="a different body changes nothing")
    assert again.created is False and first.created is True
    assert again.message.id == first.message.id
    assert count(session, Message) == 1
    assert count(session, PendingSignal) == 1


def test_closed_conversation_reopens_with_its_event_and_signal_first(factory, session):
    channel = factory.channel()
    contact = factory.contact(number="+12025550143")
    closed = factory.conversation(
        channel=channel, contact=contact, status=ConversationStatus.CLOSED
    )
    result = receive(session, channel, sid="SM1")
    assert result.conversation.id == closed.id
    assert result.conversation.status == ConversationStatus.OPEN
    kinds = [e.kind for e in session.scalars(select(ContactEvent))]
    assert kinds == ["conversation_reopened"]
    signals = [
        row.signal for row in session.scalars(select(PendingSignal).order_by(PendingSignal.id))
    ]
    assert signals == [SIGNAL_REOPENED, SIGNAL_MESSAGE_RECEIVED]


def test_spam_conversation_keeps_taking_messages_without_reopening(factory, session):
    channel = factory.channel()
    contact = factory.contact(number="+12025550143")
    spam = factory.conversation(channel=channel, contact=contact, status=ConversationStatus.SPAM)
    result = receive(session, channel, sid="SM1")
    assert result.conversation.id == spam.id
    assert result.conversation.status == ConversationStatus.SPAM
    assert count(session, Conversation) == 1
    assert count(session, ContactEvent) == 0


def test_unknown_channel_and_bad_numbers_write_nothing(factory, session):
    factory.channel(number="+14155550100")
    with pytest.raises(UnknownChannel, match=r"\+14155550199"):
        receive_inbound(
            session,
            provider="twilio",
            provider_message_id="SM1",
            from_number="+12025550143",
            to_number="+14155550199",
            body="hi",
            media=[],
        )
    with pytest.raises(InvalidNumber):
        receive_inbound(
            session,
            provider="twilio",
            provider_message_id="SM1",
            from_number="hello",
            to_number="+14155550100",
            body="hi",
            media=[],
        )
    session.commit()
    assert count(session, Contact) == count(session, Message) == count(session, Conversation) == 0


def test_two_first_messages_from_a_new_contact_make_one_conversation(factory, sessions, session):
    channel = factory.channel()
    barrier = threading.Barrier(4)
    results, errors = [], []

    def deliver(sid: str) -> None:
        barrier.wait()
        try:
            with sessions() as own:
                result = receive_and_commit(
                    own,
                    lambda: relay.commit(own),
                    provider="twilio",
                    provider_message_id=sid,
                    from_number="+12025550143",
                    to_number=channel.number,
                    body=sid,
                    media=[],
                )
            results.append(result)
        except Exception as exc:  # recorded, asserted below
            errors.append(exc)

    threads = [threading.Thread(target=deliver, args=(f"SM{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert count(session, Contact) == 1
    assert count(session, Conversation) == 1
    assert count(session, Message) == 4
    assert len({r.conversation.id for r in results}) == 1


def test_the_preview_is_what_the_contact_last_said(factory, session):
    """Lists show the contact's last message, not our replies (auto or human) after it."""
    from inbox.services.outbound import queue_message

    channel = factory.channel()
    first = receive(session, channel, sid="SM1", body="Is the  store open\non Sunday?")
    conversation = first.conversation
    assert conversation.last_message_preview == "Is the store open on Sunday?"
    queue_message(
        session,
        conversation=conversation,
        body="Thanks! We'll get back to you.",
        automated=True,
        automation="ack",
    )
    queue_message(session, conversation=conversation, body="Yes, 10 to 4.", author_id=None)
    session.commit()
    assert conversation.last_message_preview == "Is the store open on Sunday?"
    receive(session, channel, sid="SM2", body="Great, see you")
    assert conversation.last_message_preview == "Great, see you"
