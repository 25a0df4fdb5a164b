"""Delivering one outbound message: the provider call with retries, then "failed" if it gives up.

:func:`deliver` is shared by ``ConversationWorkflow`` (replies in a conversation) and
:class:`SendMessageWorkflow` (a one-off SMS outside any conversation), so both retry the same way
and both mark a message failed with the provider's reason instead of dropping it.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError, TimeoutError

with workflow.unsafe.imports_passed_through():
    from inbox.contracts import (
        ACTIVITY_DELIVER_MESSAGE,
        ACTIVITY_MARK_MESSAGE_FAILED,
        SEND_MESSAGE_WORKFLOW_TYPE,
        SIGNAL_SEND,
        DeliverMessageInput,
        DeliverMessageResult,
        MarkFailedInput,
        MessageStatus,
        SendMessageInput,
    )

# Exponential backoff from 1 s to 5 min between attempts; the overall deadline
# (schedule-to-close) is the caller's ``delivery_timeout_seconds``. Errors that retrying cannot
# fix (a rejected number, an opted-out contact) are raised non-retryable by the activity.
DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
)
# One provider call never takes long; a hung attempt is abandoned and retried.
DELIVERY_ATTEMPT_TIMEOUT = timedelta(seconds=60)
MARK_FAILED_TIMEOUT = timedelta(seconds=30)


def failure_reason(err: ActivityError) -> tuple[str, str | None]:
    """The reason (and error type, as the code) to store on a message whose delivery failed.

    A delivery that ran out of time fails with a timeout whose cause is the last attempt's
    error: the provider's reason is there, so it is preferred over "activity timed out".
    """
    cause = err.cause
    if isinstance(cause, TimeoutError) and isinstance(cause.cause, FailureError):
        last = cause.cause
        return f"{last.message} (gave up retrying: {cause.message})", _code(last)
    if isinstance(cause, FailureError):
        return cause.message or type(cause).__name__, _code(cause)
    return err.message or "delivery failed", None


def _code(failure: FailureError) -> str | None:
    # The sms activities raise ApplicationError(reason, provider_code, type=...): the provider's
    # code (Twilio's "21211") is the first detail; without one, the error type names the kind.
    if not isinstance(failure, ApplicationError):
        return None
    if failure.details and isinstance(failure.details[0], str | int):
        return str(failure.details[0])
    return failure.type or None


async def deliver(message_id: int, *, timeout_seconds: float) -> DeliverMessageResult:
    """Send one stored message through the provider; on final failure mark it failed.

    Returns the provider's result, or ``status="failed"`` after the message was marked failed.
    Never raises for a failed activity: a conversation's workflow must outlive its sends.
    """
    try:
        result: DeliverMessageResult = await workflow.execute_activity(
            ACTIVITY_DELIVER_MESSAGE,
            DeliverMessageInput(message_id=message_id),
            result_type=DeliverMessageResult,
            schedule_to_close_timeout=timedelta(seconds=timeout_seconds),
            start_to_close_timeout=DELIVERY_ATTEMPT_TIMEOUT,
            retry_policy=DELIVERY_RETRY,
        )
        return result
    except ActivityError as err:
        reason, code = failure_reason(err)
        workflow.logger.warning("delivery of message %s failed: %s", message_id, reason)
    try:
        # Retried until the database takes it (the default policy): the agent must see it.
        await workflow.execute_activity(
            ACTIVITY_MARK_MESSAGE_FAILED,
            MarkFailedInput(message_id=message_id, reason=reason, code=code),
            start_to_close_timeout=MARK_FAILED_TIMEOUT,
        )
    except FailureError as err:  # refused for good (the message row is gone): nothing to mark
        workflow.logger.error("cannot mark message %s failed: %s", message_id, err)
    return DeliverMessageResult(status=MessageStatus.FAILED)


@workflow.defn(name=SEND_MESSAGE_WORKFLOW_TYPE)
class SendMessageWorkflow:
    """Delivers a one-off SMS (no conversation). Started by signal-with-start from the relay."""

    def __init__(self) -> None:
        self._send_signals = 0

    @workflow.signal(name=SIGNAL_SEND)
    def send(self, request: SendMessageInput) -> None:
        """The relay's start signal. The input already names the message, so this only counts
        it (a repeated signal must not send twice)."""
        self._send_signals += 1

    @workflow.run
    async def run(self, request: SendMessageInput) -> DeliverMessageResult:
        """Deliver the message; the result says ``failed`` if it was marked failed."""
        return await deliver(request.message_id, timeout_seconds=request.delivery_timeout_seconds)
