"""Consent, as the inbound path and every send meet it, against the test database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.contracts import (
    SIGNAL_HOLD_CANCELLED,
    SIGNAL_MESSAGE_RECEIVED,
    SIGNAL_MESSAGE_SENT,
    SIGNAL_OPT_OUT_DECIDED,
)
from inbox.models import (
    AuditLog,
    Channel,
    ConsentRecord,
    ConsentState,
    ContactEvent,
    Conversation,
    EventKind,
    Message,
    MessageStatus,
    Notification,
    PendingSignal,
)
from inbox.services import consent
from inbox.services.inbound import InboundResult
from inbox.services.outbound import (
    OutboundBlocked,
    apply_status_update,
    queue_message,
    queue_one_off,
    store_provider_id,
)
from tests import factories
from tests.factories import Factory

CONTACT = "+12025550143"


def text_in(session: Session, channel: Channel, body: str, number: str = CONTACT) -> InboundResult:
    return factories.text_in(session, channel, number, body)


def replies(session: Session) -> list[Message]:
    return list(
        session.scalars(
            select(Message).where(Message.purpose == consent.CONSENT_PURPOSE).order_by(Message.id)
        )
    )


def signals(session: Session) -> list[tuple[str, dict]]:
    rows = session.scalars(select(PendingSignal).order_by(PendingSignal.id))
    return [(row.signal, row.payload) for row in rows]


def test_stop_records_the_opt_out_for_the_number_and_confirms_once(factory, session) -> None:
    channel = factory.channel(name="Acme")
    result = text_in(session, channel, "Stop 🙏")
    state = session.get_one(ConsentState, CONTACT)
    assert (state.opted_out, state.method, state.keyword) == (True, "keyword", "STOP")
    assert (state.channel_id, state.message_id) == (channel.id, result.message.id)
    (record,) = session.scalars(select(ConsentRecord))
    assert (record.action, record.number, record.keyword) == ("opt_out", CONTACT, "STOP")
    assert record.contact_id == result.message.contact_id
    assert result.conversation.contact.opted_out
    # On the conversation's timeline and in the contact log.
    (event,) = session.scalars(select(ContactEvent).where(ContactEvent.kind == EventKind.OPTED_OUT))
    assert event.summary == "Opted out by replying STOP"
    assert event.conversation_id == result.conversation.id
    # One confirmation, queued in the same transaction, after the message's own signal.
    (confirmation,) = replies(session)
    assert confirmation.body.startswith("Acme: You are unsubscribed")
    assert (confirmation.automated, confirmation.status) == (True, MessageStatus.QUEUED)
    assert [signal for signal, _ in signals(session)] == [
        SIGNAL_MESSAGE_RECEIVED,
        SIGNAL_MESSAGE_SENT,
    ]
    assert signals(session)[0][1]["keyword"] == "opt_out"  # it runs no message rules
    # A second STOP changes nothing and sends no second confirmation.
    text_in(session, channel, "STOP")
    assert len(replies(session)) == 1
    assert len(session.scalars(select(ConsentRecord)).all()) == 1


def test_an_opt_out_blocks_every_send_to_the_number_from_every_path(factory, session) -> None:
    first, second = factory.channel(), factory.channel()
    result = text_in(session, first, "unsubscribe")
    contact = result.conversation.contact
    # The composer and the JSON API (queue_message), on any channel.
    other = factory.conversation(channel=second, contact=contact, contact_number=CONTACT)
    with pytest.raises(OutboundBlocked, match="opted out") as refused:
        queue_message(session, conversation=other, body="Hello again")
    assert refused.value.code == "opted_out"
    assert "by replying UNSUBSCRIBE" in refused.value.reason
    # A one-off SMS.
    with pytest.raises(OutboundBlocked, match="opted out"):
        queue_one_off(session, contact=contact, number=CONTACT, channel=second, body="Hi")
    # The guard itself: the inbox's own consent replies pass it (the one confirmation).
    assert consent.send_blocked(session, CONTACT) is not None
    assert consent.send_blocked(session, CONTACT, consent.CONSENT_PURPOSE) is None
    assert consent.send_blocked(session, "+12025550199") is None


def test_provider_mode_records_the_opt_out_and_sends_nothing(factory, session) -> None:
    channel = factory.channel()
    channel.consent_replies = "provider"  # Twilio's Advanced Opt-Out answers itself
    session.commit()
    text_in(session, channel, "STOP")
    assert session.get_one(ConsentState, CONTACT).opted_out
    assert replies(session) == []


def test_help_is_answered_and_start_resubscribes_and_confirms(factory, session) -> None:
    channel = factory.channel(name="Acme")
    text_in(session, channel, "HELP")
    (help_reply,) = replies(session)
    assert "Msg & data rates may apply" in help_reply.body
    assert "STOP" in help_reply.body
    # START when subscribed already: nothing to confirm.
    text_in(session, channel, "START")
    assert len(replies(session)) == 1
    text_in(session, channel, "stop")
    text_in(session, channel, "Start!")
    state = session.get_one(ConsentState, CONTACT)
    assert (state.opted_out, state.keyword) == (False, "START")
    assert replies(session)[-1].body.startswith("Acme: You are resubscribed")
    assert [
        r.action for r in session.scalars(select(ConsentRecord).order_by(ConsentRecord.id))
    ] == [
        "opt_out",
        "opt_in",
    ]
    conversation = session.scalars(select(Conversation)).one()
    assert not conversation.contact.opted_out
    queue_message(session, conversation=conversation, body="Welcome back")  # sendable again


def test_channel_texts_replace_the_defaults(factory, session) -> None:
    channel = factory.channel()
    channel.help_reply = (
        "Acme Dental: call 555-0100. Reply STOP to opt out. Msg & data rates may apply."
    )
    session.commit()
    text_in(session, channel, "info")
    assert replies(session)[0].body == channel.help_reply


def test_a_keyword_opt_out_ends_only_with_the_contacts_own_start(factory, session) -> None:
    admin = factory.user(name="Ada Admin", role="admin")
    channel = factory.channel()
    text_in(session, channel, "STOP")
    with pytest.raises(consent.ConsentError, match="only the contact can end it"):
        consent.record_by_person(
            session, number=CONTACT, opt_out=False, actor=admin, note="they called us"
        )
    # A person's opt-out (with a note) may be ended by a person's documented opt-in.
    other = "+12025550144"
    with pytest.raises(consent.ConsentError, match="note"):
        consent.record_by_person(session, number=other, opt_out=True, actor=admin, note=" ")
    consent.record_by_person(
        session, number=other, opt_out=True, actor=admin, note="asked on the phone"
    )
    consent.record_by_person(
        session, number=other, opt_out=False, actor=admin, note="signed the consent form again"
    )
    session.commit()
    assert not session.get_one(ConsentState, other).opted_out
    actions = [entry.action for entry in session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert actions == ["consent.opt_out", "consent.opt_in"]
    notes = [
        r.note for r in session.scalars(select(ConsentRecord).where(ConsentRecord.number == other))
    ]
    assert notes == ["asked on the phone", "signed the consent form again"]


def test_a_revocation_in_other_words_flags_the_conversation_for_a_person(
    factory: Factory, session: Session
) -> None:
    agent = factory.user(name="Rex Rep")
    channel = factory.channel(default_inbox=factory.inbox(default_assignee_id=agent.id))
    result = text_in(session, channel, "please stop texting me")
    conversation = result.conversation
    assert not session.get(ConsentState, CONTACT)  # a person decides
    assert conversation.possible_opt_out_message_id == result.message.id
    (note,) = session.scalars(select(Notification))
    assert note.user_id == agent.id and "may have asked to stop texts" in note.text
    received = signals(session)[0][1]
    due = datetime.fromisoformat(received["review_by"])
    assert due - result.message.created_at.replace(tzinfo=UTC) == timedelta(days=10)  # no hours
    consent.decide_possible(session, conversation=conversation, actor=agent, opt_out=True)
    session.commit()
    assert session.get_one(ConsentState, CONTACT).method == "manual"
    assert conversation.possible_opt_out_message_id is None
    assert signals(session)[-1][0] == SIGNAL_OPT_OUT_DECIDED
    with pytest.raises(consent.ConsentError, match="no possible opt-out"):
        consent.decide_possible(session, conversation=conversation, actor=agent, opt_out=False)


def test_business_days_skip_the_days_the_inbox_is_closed(factory, session) -> None:
    weekdays = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    channel = factory.channel(
        default_inbox=factory.inbox(business_hours=weekdays, timezone="America/New_York")
    )
    result = text_in(session, channel, "remove me from your list")
    due = datetime.fromisoformat(signals(session)[0][1]["review_by"])
    sent = result.message.created_at.replace(tzinfo=UTC)
    assert timedelta(days=14) <= due - sent <= timedelta(days=16)  # two weeks and a weekend


def test_an_opt_out_cancels_the_texts_held_for_the_number(factory, session) -> None:
    channel = factory.channel()
    result = text_in(session, channel, "hello")
    held = queue_message(
        session,
        conversation=result.conversation,
        body="Good morning!",
        automated=True,
        automation="morning",
        held_until=datetime.now(UTC) + timedelta(hours=8),
    )
    session.commit()
    assert held.status == MessageStatus.HELD
    text_in(session, channel, "STOP")
    session.refresh(held)
    assert held.status == MessageStatus.CANCELLED
    assert held.error_message == "Not sent: Opted out by replying STOP"
    cancelled = [p for s, p in signals(session) if s == SIGNAL_HOLD_CANCELLED]
    assert [p["message_id"] for p in cancelled] == [held.id]


def test_carrier_error_21610_records_the_opt_out_even_when_it_comes_early(factory, session) -> None:
    conversation = factory.conversation(contact=factory.contact(number=CONTACT))
    message = queue_message(session, conversation=conversation, body="hi")
    session.commit()
    # The status callback beats the send's SID: it waits, and is applied when the SID is stored.
    assert (
        apply_status_update(
            session,
            provider="twilio",
            provider_message_id="SM21610",
            status="undelivered",
            error_code="21610",
            error_message="Attempt to send to unsubscribed recipient",
        )
        is None
    )
    assert session.get(ConsentState, CONTACT) is None
    store_provider_id(session, message, "twilio", "SM21610")
    session.commit()
    state = session.get_one(ConsentState, CONTACT)
    assert (state.opted_out, state.method) == (True, "carrier")
    assert message.status == MessageStatus.UNDELIVERED
