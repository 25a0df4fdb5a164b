"""The simulator provider: idempotent by our message id, reports delivery, can have outages."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from inbox.models import LiveEvent, MessageStatus, SimulatorMessage
from inbox.providers import (
    OutboundSms,
    ProviderRejected,
    ProviderUnavailable,
    SimulatorProvider,
    get_provider,
)
from inbox.providers.twilio import TwilioProvider
from inbox.services.outbound import queue_message
from inbox.settings import Settings


def as_sms(message) -> OutboundSms:
    return OutboundSms(
        client_ref=str(message.id),
        from_number=message.from_number,
        to_number=message.to_number,
        body=message.body,
        created_at=message.created_at,
    )


def test_second_send_of_a_message_returns_the_first_result(factory, session, sessions):
    convo = factory.conversation()
    message = queue_message(session, conversation=convo, body="hi")
    session.commit()
    provider = SimulatorProvider(sessions)
    first = provider.send(as_sms(message))
    again = provider.send(as_sms(message))
    assert first == again
    assert provider.find_sent(as_sms(message)) == first
    assert len(session.scalars(select(SimulatorMessage)).all()) == 1
    # Delivery came through the status-update path: our row has the id and "delivered".
    session.refresh(message)
    assert message.provider_message_id == first.provider_message_id
    assert message.status == MessageStatus.DELIVERED
    assert "message.updated" in session.scalars(select(LiveEvent.kind)).all()


def test_outage_and_rejection_hooks(factory, session, sessions):
    convo = factory.conversation()
    message = queue_message(session, conversation=convo, body="hi")
    session.commit()
    provider = SimulatorProvider(sessions)
    provider.outage = True
    with pytest.raises(ProviderUnavailable):
        provider.send(as_sms(message))
    with pytest.raises(ProviderUnavailable):
        provider.find_sent(as_sms(message))
    provider.outage = False
    provider.rejection = ProviderRejected("21610", "the contact unsubscribed")
    with pytest.raises(ProviderRejected, match="unsubscribed"):
        provider.send(as_sms(message))
    assert session.scalars(select(SimulatorMessage)).all() == []


def test_get_provider_follows_the_setting(sessions, database_url):
    assert isinstance(
        get_provider(Settings(database_url=database_url), sessions), SimulatorProvider
    )
    twilio = get_provider(Settings(database_url=database_url, sms_provider="twilio"), sessions)
    assert isinstance(twilio, TwilioProvider) and twilio.name == "twilio"


def test_simulator_lists_no_numbers_so_any_can_be_entered(sessions):
    provider = SimulatorProvider(sessions)
    assert provider.list_numbers() is None
    provider.outage = True
    with pytest.raises(ProviderUnavailable):
        provider.list_numbers()
