"""deliver_message / mark_message_failed: never send twice, fail clearly."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from temporalio.exceptions import ApplicationError

from activities.sms import SmsActivities
from inbox.contracts import DeliverMessageInput, MarkFailedInput
from inbox.models import EarlyStatusReport, Message, MessageStatus, SimulatorMessage
from inbox.providers import SendResult, SimulatorProvider, TwilioProvider
from inbox.services.outbound import apply_status_update, queue_message
from tests.providers.fake_twilio import FakeTwilioHttp


@pytest.fixture
def message(factory, session) -> Message:
    convo = factory.conversation()
    message = queue_message(session, conversation=convo, body="See you at 5")
    session.commit()
    return message


def twilio(http: FakeTwilioHttp) -> TwilioProvider:
    return TwilioProvider(
        account_sid="AC" + "0" * 32, auth_token="t", public_url="https://x.test", http_client=http
    )


def test_simulator_delivery_is_stored_and_a_repeat_sends_nothing(message, sessions, session):
    activities = SmsActivities(sessions, SimulatorProvider(sessions))
    result = activities.deliver_message(DeliverMessageInput(message_id=message.id))
    again = activities.deliver_message(DeliverMessageInput(message_id=message.id))
    assert result == again
    assert result.status == MessageStatus.DELIVERED and result.provider_message_id
    session.refresh(message)
    assert (message.provider, message.send_attempts) == ("simulator", 1)
    assert len(session.scalars(select(SimulatorMessage)).all()) == 1


def test_simulator_outage_is_retryable_then_sends_once(message, sessions, session):
    provider = SimulatorProvider(sessions)
    activities = SmsActivities(sessions, provider)
    provider.outage = True
    with pytest.raises(ApplicationError) as error:
        activities.deliver_message(DeliverMessageInput(message_id=message.id))
    assert not error.value.non_retryable and error.value.type == "ProviderUnavailable"
    session.refresh(message)
    assert message.status == MessageStatus.SENDING and message.send_attempts == 1
    provider.outage = False
    activities.deliver_message(DeliverMessageInput(message_id=message.id))
    session.refresh(message)
    assert message.status == MessageStatus.DELIVERED and message.send_attempts == 2
    assert len(session.scalars(select(SimulatorMessage)).all()) == 1


class LosesTheAnswer(SimulatorProvider):
    """Sends, then fails as if the connection dropped before the answer came back."""

    def send(self, sms) -> SendResult:
        super().send(sms)
        raise ApplicationError("connection reset")


def test_simulator_retry_after_an_ambiguous_failure_sends_once(message, sessions, session):
    with pytest.raises(ApplicationError):
        SmsActivities(sessions, LosesTheAnswer(sessions)).deliver_message(
            DeliverMessageInput(message_id=message.id)
        )
    SmsActivities(sessions, SimulatorProvider(sessions)).deliver_message(
        DeliverMessageInput(message_id=message.id)
    )
    assert len(session.scalars(select(SimulatorMessage)).all()) == 1


def test_twilio_retry_after_a_timeout_reconciles_instead_of_sending_again(
    message, sessions, session
):
    http = FakeTwilioHttp()
    activities = SmsActivities(sessions, twilio(http))
    http.fail_next = "timeout"  # Twilio took the message but we never heard back
    with pytest.raises(ApplicationError) as error:
        activities.deliver_message(DeliverMessageInput(message_id=message.id))
    assert not error.value.non_retryable
    result = activities.deliver_message(DeliverMessageInput(message_id=message.id))
    assert http.creates == 1 and http.lists == 1
    assert result.provider_message_id == http.messages[0]["sid"]
    session.refresh(message)
    assert message.status == MessageStatus.SENT and message.send_attempts == 1
    assert message.provider == "twilio"


def test_twilio_retry_when_nothing_was_sent_sends(message, sessions, session):
    http = FakeTwilioHttp()
    activities = SmsActivities(sessions, twilio(http))
    http.fail_next = 503
    with pytest.raises(ApplicationError):
        activities.deliver_message(DeliverMessageInput(message_id=message.id))
    # The 503 fake stores nothing, so reconciliation finds nothing and the retry sends.
    activities.deliver_message(DeliverMessageInput(message_id=message.id))
    assert http.creates == 2 and len(http.messages) == 1
    session.refresh(message)
    assert message.provider_message_id == http.messages[0]["sid"]


def test_rejected_is_non_retryable_with_the_providers_reason(message, sessions, session):
    http = FakeTwilioHttp()
    http.fail_next = 400
    with pytest.raises(ApplicationError) as error:
        SmsActivities(sessions, twilio(http)).deliver_message(
            DeliverMessageInput(message_id=message.id)
        )
    assert error.value.non_retryable and error.value.type == "ProviderRejected"
    assert "not valid" in str(error.value)
    assert error.value.details == ("21211",)


def test_mark_failed_records_the_reason(message, sessions, session):
    activities = SmsActivities(sessions, SimulatorProvider(sessions))
    activities.mark_message_failed(
        MarkFailedInput(message_id=message.id, reason="The 'To' number is not valid.", code="21211")
    )
    session.refresh(message)
    assert message.status == MessageStatus.FAILED
    assert (message.error_code, message.error_message) == ("21211", "The 'To' number is not valid.")
    # A failed message is not sent afterwards.
    result = activities.deliver_message(DeliverMessageInput(message_id=message.id))
    assert result.status == MessageStatus.FAILED
    assert session.scalars(select(SimulatorMessage)).all() == []


def test_mark_failed_leaves_a_sent_message_alone(message, sessions, session):
    activities = SmsActivities(sessions, SimulatorProvider(sessions))
    activities.deliver_message(DeliverMessageInput(message_id=message.id))
    activities.mark_message_failed(MarkFailedInput(message_id=message.id, reason="late"))
    session.refresh(message)
    assert message.status == MessageStatus.DELIVERED and message.error_message is None


def test_missing_message_is_non_retryable(sessions):
    with pytest.raises(ApplicationError) as error:
        SmsActivities(sessions, SimulatorProvider(sessions)).deliver_message(
            DeliverMessageInput(message_id=999999)
        )
    assert error.value.non_retryable


def test_a_status_callback_before_the_sid_is_stored_is_applied_when_it_is(
    message, sessions, session
):
    http = FakeTwilioHttp()

    def callback_first(record: dict) -> None:
        # Twilio reports the failure before our send has stored the SID it returned.
        with sessions() as other:
            found = apply_status_update(
                other,
                provider="twilio",
                provider_message_id=record["sid"],
                status="failed",
                error_code="30006",
                error_message="Landline or unreachable carrier",
            )
            other.commit()
        assert found is None

    http.on_create = callback_first
    result = SmsActivities(sessions, twilio(http)).deliver_message(
        DeliverMessageInput(message_id=message.id)
    )
    assert result.status == MessageStatus.FAILED
    session.refresh(message)
    assert (message.status, message.error_code) == (MessageStatus.FAILED, "30006")
    assert message.error_message == "Landline or unreachable carrier"
    assert session.scalars(select(EarlyStatusReport)).first() is None  # used up
