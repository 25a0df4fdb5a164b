"""Delivering outbound SMS: the activities that hand a stored message to the provider.

Idempotent by construction: the message row exists before the provider is called, every attempt
is counted (and committed) before the call, and an attempt that follows an earlier one first
asks the provider whether that one went through (``find_sent``), so a retry never sends twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from inbox import metrics, tracing
from inbox.contracts import (
    ACTIVITY_DELIVER_MESSAGE,
    ACTIVITY_MARK_MESSAGE_FAILED,
    DeliverMessageInput,
    DeliverMessageResult,
    MarkFailedInput,
)
from inbox.models import Message, MessageStatus
from inbox.providers import (
    OutboundSms,
    ProviderRejected,
    ProviderUnavailable,
    SendResult,
    SmsProvider,
)
from inbox.services import consent
from inbox.services.outbound import (
    CARRIER_OPT_OUT_CODE,
    advance_status,
    publish_message_update,
    store_provider_id,
)

log = logging.getLogger(__name__)

_DONE = frozenset({MessageStatus.SENT, MessageStatus.DELIVERED})
_NOT_TO_SEND = frozenset(
    {MessageStatus.FAILED, MessageStatus.BLOCKED, MessageStatus.CANCELLED, MessageStatus.HELD}
)
# Our other messages to the same number whose provider ids reconciliation must not claim.
_RECONCILE_WINDOW = timedelta(days=1)


@contextmanager
def _provider_errors() -> Iterator[None]:
    """Provider errors as Temporal sees them: rejected is final, unavailable is retried."""
    try:
        yield
    except ProviderRejected as exc:
        raise ApplicationError(
            exc.reason, exc.code, type="ProviderRejected", non_retryable=True
        ) from exc
    except ProviderUnavailable as exc:
        raise ApplicationError(str(exc), type="ProviderUnavailable") from exc


def _outbound_sms(session: Session, message: Message) -> OutboundSms:
    """``message`` as the provider takes it, with the provider ids our other recent messages
    to the same number hold (reconciliation must not claim those)."""
    claimed = session.scalars(
        select(Message.provider_message_id).where(
            Message.to_number == message.to_number,
            Message.from_number == message.from_number,
            Message.provider_message_id.is_not(None),
            Message.id != message.id,
            Message.created_at >= message.created_at - _RECONCILE_WINDOW,
        )
    )
    return _sms(message, frozenset(pid for pid in claimed if pid))


def _sms(message: Message, claimed_ids: frozenset[str] = frozenset()) -> OutboundSms:
    return OutboundSms(
        client_ref=str(message.id),
        from_number=message.from_number,
        to_number=message.to_number,
        body=message.body,
        created_at=message.created_at,
        media_urls=tuple(str(m["url"]) for m in message.media if m.get("url")),
        claimed_ids=claimed_ids,
    )


class SmsActivities:
    """Activities bound to a session factory and a provider (registered by the worker)."""

    def __init__(self, sessions: sessionmaker[Session], provider: SmsProvider) -> None:
        self._sessions = sessions
        self._provider = provider

    @activity.defn(name=ACTIVITY_DELIVER_MESSAGE)
    def deliver_message(self, data: DeliverMessageInput) -> DeliverMessageResult:
        """Send the message once. ProviderRejected ends the retries (non-retryable error with
        the provider's reason); ProviderUnavailable is retried by Temporal."""
        with self._sessions() as session:
            message = session.get(Message, data.message_id)
            if message is None:
                raise ApplicationError(
                    f"message {data.message_id} does not exist", non_retryable=True
                )
            if message.provider_message_id is not None:
                return DeliverMessageResult(message.status, message.provider_message_id)
            if message.status in _NOT_TO_SEND:
                # Failed, blocked or cancelled already (or held, to go later): sending it now
                # would surprise everyone.
                return DeliverMessageResult(message.status, None)
            # The guard every send passes, at the moment it goes: the number may have opted
            # out since the message was queued.
            blocked = consent.send_blocked(session, message.to_number, message.purpose)
            if blocked is not None:
                message.status = MessageStatus.BLOCKED
                message.error_code = blocked.code
                message.error_message = f"Not sent: {blocked.reason}"
                publish_message_update(session, message)
                session.commit()
                log.info("message %s blocked: %s", message.id, blocked.code)
                metrics.SENDS_BLOCKED.labels("sending", blocked.code).inc()
                metrics.SENDS.labels(MessageStatus.BLOCKED).inc()
                return DeliverMessageResult(message.status, None)
            sms = _outbound_sms(session, message)
            if message.send_attempts > 0:
                with _provider_errors():
                    found = self._provider.find_sent(sms)
                if found is not None:
                    log.info("message %s was sent by an earlier attempt", message.id)
                    return self._store(found, data.message_id)
            # Counted and committed before the call: if we die mid-call, the next attempt knows
            # to reconcile.
            self._count_attempt(message)
            session.commit()
        try:
            with (
                tracing.tracer.start_as_current_span(
                    "sms.send",
                    attributes={"sms.provider": self._provider.name, "message.id": sms.client_ref},
                ),
                _provider_errors(),
            ):
                result = self._provider.send(sms)
        except ApplicationError as exc:
            if exc.details and exc.details[0] == CARRIER_OPT_OUT_CODE:
                self._carrier_opt_out(data.message_id)
            raise
        return self._store(result, data.message_id)

    def _carrier_opt_out(self, message_id: int) -> None:
        """The carrier refused the send: the number opted out there (Twilio 21610)."""
        with self._sessions() as session:
            consent.record_carrier_opt_out(session, session.get_one(Message, message_id))
            session.commit()

    def _count_attempt(self, message: Message) -> None:
        message.send_attempts += 1
        message.provider = self._provider.name
        advance_status(message, MessageStatus.SENDING)

    def _store(self, result: SendResult, message_id: int) -> DeliverMessageResult:
        with self._sessions() as session:
            message = session.get(Message, message_id)
            if message is None:
                raise ApplicationError(f"message {message_id} vanished", non_retryable=True)
            # The provider may already know more (the simulator delivers at once), and a status
            # callback may have come before this write (it waited for the id).
            changed = advance_status(message, MessageStatus.SENT)
            changed = advance_status(message, result.status) or changed
            changed = (
                store_provider_id(session, message, self._provider.name, result.provider_message_id)
                or changed
            )
            if changed:
                publish_message_update(session, message)
            session.commit()
            metrics.SENDS.labels(str(message.status)).inc()
            log.info("message %s handed to %s: %s", message_id, self._provider.name, message.status)
            return DeliverMessageResult(message.status, message.provider_message_id)

    @activity.defn(name=ACTIVITY_MARK_MESSAGE_FAILED)
    def mark_message_failed(self, data: MarkFailedInput) -> None:
        """Mark a message that could not be sent as failed, with the provider's reason. A
        message the provider has taken (sent or delivered) is left as it is."""
        with self._sessions() as session:
            message = session.get(Message, data.message_id)
            if message is None:
                log.warning("cannot mark missing message %s failed", data.message_id)
                return
            if message.provider_message_id is not None and message.status in _DONE:
                return
            message.status = MessageStatus.FAILED
            message.error_code = data.code
            message.error_message = data.reason
            publish_message_update(session, message)
            session.commit()
            metrics.SENDS.labels(MessageStatus.FAILED).inc()
