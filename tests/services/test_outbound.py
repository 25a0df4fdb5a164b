"""Queueing outbound messages and applying delivery reports."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from inbox.contracts import SEND_MESSAGE_WORKFLOW_TYPE, SIGNAL_MESSAGE_SENT, SIGNAL_SEND
from inbox.models import (
    ConsentState,
    ConversationStatus,
    EarlyStatusReport,
    LiveEvent,
    Message,
    MessageStatus,
    PendingSignal,
    utcnow,
)
from inbox.services.outbound import (
    EARLY_REPORT_RETENTION,
    OutboundBlocked,
    apply_status_update,
    queue_message,
    queue_one_off,
    store_provider_id,
)


def test_queue_message_stores_the_row_first_and_tells_the_workflow(factory, session):
    agent = factory.user()
    convo = factory.conversation()
    message = queue_message(
        session, conversation=convo, body="  Be there at 5  ", author_id=agent.id
    )
    session.commit()
    assert message.status == MessageStatus.QUEUED and message.provider_message_id is None
    assert (message.from_number, message.to_number) == (convo.channel.number, convo.contact_number)
    assert convo.last_message_preview == "Be there at 5"
    pending = session.scalars(select(PendingSignal)).one()
    assert pending.signal == SIGNAL_MESSAGE_SENT
    assert pending.workflow_id == f"conversation-{convo.id}"
    assert pending.payload["key"] == f"msg-{message.id}"
    assert pending.payload["author_id"] == agent.id and pending.payload["automated"] is False
    assert session.scalars(select(LiveEvent.kind)).all() == ["message.created"]


def test_queue_message_refuses_what_must_not_be_sent(factory, session):
    convo = factory.conversation()
    with pytest.raises(OutboundBlocked, match="empty"):
        queue_message(session, conversation=convo, body="   ")
    with pytest.raises(OutboundBlocked, match="1600"):
        queue_message(session, conversation=convo, body="x" * 1601)
    # Consent is kept per number: this conversation's number opts out.
    opt_out = ConsentState(number=convo.contact_number, opted_out=True, method="keyword")
    session.add(opt_out)
    with pytest.raises(OutboundBlocked, match="opted out"):
        queue_message(session, conversation=convo, body="hello")
    session.delete(opt_out)
    convo.status = ConversationStatus.SPAM
    with pytest.raises(OutboundBlocked, match="spam"):
        queue_message(session, conversation=convo, body="hello")
    session.commit()
    assert session.scalars(select(Message)).all() == []
    assert session.scalars(select(PendingSignal)).all() == []


def test_one_off_starts_its_own_workflow_and_no_conversation(factory, session):
    channel = factory.channel()
    contact = factory.contact(number="+12025550143")
    message = queue_one_off(
        session,
        contact=contact,
        number="+12025550143",  # normalised where it entered (the API's E164 type)
        channel=channel,
        body="Welcome!",
        automated=True,
        automation="welcome",
    )
    session.commit()
    assert message.conversation_id is None and message.to_number == "+12025550143"
    pending = session.scalars(select(PendingSignal)).one()
    assert pending.workflow_type == SEND_MESSAGE_WORKFLOW_TYPE
    assert pending.workflow_id == f"message-{message.id}"
    assert pending.signal == SIGNAL_SEND
    assert pending.start_input["message_id"] == message.id
    with pytest.raises(OutboundBlocked, match="not one of"):
        queue_one_off(session, contact=contact, number="+12025550199", channel=channel, body="x")


def test_a_one_off_is_in_the_contact_log_and_joins_the_conversation_the_reply_opens(
    factory, session
):
    from inbox.models import ContactEvent, Conversation, EventKind
    from tests.factories import text_in

    channel = factory.channel(number="+14155550100")
    other_channel = factory.channel(number="+14155550101")
    contact = factory.contact(number="+12025550143")
    welcome = queue_one_off(
        session, contact=contact, number="+12025550143", channel=channel, body="Welcome aboard!"
    )
    elsewhere = queue_one_off(
        session, contact=contact, number="+12025550143", channel=other_channel, body="Hi from B"
    )
    old = queue_one_off(
        session, contact=contact, number="+12025550143", channel=channel, body="Last year"
    )
    old.created_at = utcnow() - timedelta(days=31)
    session.commit()
    logged = session.scalars(select(ContactEvent).where(ContactEvent.kind == EventKind.SMS_SENT))
    assert [(e.summary, e.conversation_id) for e in logged] == [
        (f"Text sent from {channel.name}: \u201cWelcome aboard!\u201d", None),
        (f"Text sent from {other_channel.name}: \u201cHi from B\u201d", None),
        (f"Text sent from {channel.name}: \u201cLast year\u201d", None),
    ]
    reply = text_in(session, channel, "+12025550143", "Thanks! What's next?")
    conversation = session.get_one(Conversation, reply.conversation.id)
    session.refresh(welcome)
    session.refresh(elsewhere)
    session.refresh(old)
    assert welcome.conversation_id == conversation.id  # what the contact is answering
    assert elsewhere.conversation_id is None  # another channel: another conversation's
    assert old.conversation_id is None  # past the 30-day window
    timeline = session.scalars(
        select(Message.body).where(Message.conversation_id == conversation.id).order_by(Message.id)
    ).all()
    assert list(timeline) == ["Welcome aboard!", "Thanks! What's next?"]


def test_status_never_moves_backwards(factory, session):
    convo = factory.conversation()
    message = queue_message(session, conversation=convo, body="hi")
    message.provider, message.provider_message_id = "twilio", "SM1"
    session.commit()
    for status in ("sending", "delivered", "sent", "queued"):
        apply_status_update(session, provider="twilio", provider_message_id="SM1", status=status)
    assert message.status == MessageStatus.DELIVERED
    assert message.sent_at is not None and message.delivered_at is not None
    # The first final report wins: a late "failed" does not overwrite "delivered".
    apply_status_update(
        session, provider="twilio", provider_message_id="SM1", status="failed", error_code="30003"
    )
    assert message.status == MessageStatus.DELIVERED and message.error_code is None
    assert (
        apply_status_update(session, provider="simulator", provider_message_id="SM1", status="sent")
        is None
    )


def test_reports_for_an_unknown_id_wait_for_it_and_stale_ones_are_pruned(factory, session):
    stale = EarlyStatusReport(
        provider="twilio",
        provider_message_id="SMother",
        status="sent",
        received_at=utcnow() - EARLY_REPORT_RETENTION - timedelta(minutes=1),
    )
    session.add(stale)
    session.commit()
    for status in ("sent", "delivered"):
        assert (
            apply_status_update(
                session, provider="twilio", provider_message_id="SMnew", status=status
            )
            is None
        )
    session.commit()
    kept = session.scalars(select(EarlyStatusReport).order_by(EarlyStatusReport.id)).all()
    assert [(r.provider_message_id, r.status) for r in kept] == [
        ("SMnew", "sent"),
        ("SMnew", "delivered"),
    ]  # the day-old report for a message nobody here sent is gone
    message = queue_message(session, conversation=factory.conversation(), body="hi")
    assert store_provider_id(session, message, "twilio", "SMnew")
    session.commit()
    assert message.status == MessageStatus.DELIVERED and message.delivered_at is not None
    assert session.scalars(select(EarlyStatusReport)).first() is None
