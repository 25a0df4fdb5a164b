"""SendMessageWorkflow (one-off SMS) and the failure reason stored on a message."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    RetryState,
    TimeoutError,
    TimeoutType,
)
from temporalio.testing import WorkflowEnvironment

from inbox.contracts import (
    SIGNAL_SEND,
    DeliverMessageResult,
    SendMessageInput,
    message_workflow_id,
)
from tests.workflows.fakes import FakeSms, FakeStore, fake_worker, unique_id, unique_queue
from workflows.send_message import SendMessageWorkflow, failure_reason


async def _send(client: Client, queue: str, message_id: int) -> DeliverMessageResult:
    # As the outbox relay does it: signal-with-start, the input and the signal name the message.
    request = SendMessageInput(message_id=message_id)
    handle = await client.start_workflow(
        SendMessageWorkflow.run,
        request,
        id=message_workflow_id(message_id),
        task_queue=queue,
        start_signal=SIGNAL_SEND,
        start_signal_args=[request],
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    return await handle.result()


async def test_one_off_message_is_delivered(env: WorkflowEnvironment) -> None:
    sms, queue, message_id = FakeSms(), unique_queue(), unique_id()
    async with fake_worker(env.client, FakeStore(), sms, queue):
        result = await _send(env.client, queue, message_id)
    assert result == DeliverMessageResult(status="sent", provider_message_id=f"SM{message_id}")
    assert sms.delivered == [message_id]
    assert sms.failed == []


async def test_one_off_message_rejected_is_marked_failed(env: WorkflowEnvironment) -> None:
    sms, queue, message_id = FakeSms(), unique_queue(), unique_id()
    sms.fail = lambda _id: ApplicationError(
        "Attempt to send to unsubscribed recipient",
        "21610",
        type="ProviderRejected",
        non_retryable=True,
    )
    async with fake_worker(env.client, FakeStore(), sms, queue):
        result = await _send(env.client, queue, message_id)
    assert result.status == "failed"
    [failed] = sms.failed
    assert (failed.message_id, failed.reason, failed.code) == (
        message_id,
        "Attempt to send to unsubscribed recipient",
        "21610",
    )


def _activity_error(cause: BaseException) -> ActivityError:
    err = ActivityError(
        "Activity task failed",
        scheduled_event_id=5,
        started_event_id=6,
        identity="worker",
        activity_type="deliver_message",
        activity_id="1",
        retry_state=RetryState.TIMEOUT,
    )
    err.__cause__ = cause
    return err


def test_failure_reason_prefers_the_last_provider_error_over_the_timeout() -> None:
    timeout = TimeoutError(
        "activity ScheduleToClose timeout",
        type=TimeoutType.SCHEDULE_TO_CLOSE,
        last_heartbeat_details=[],
    )
    timeout.__cause__ = ApplicationError("Twilio is unreachable", type="ProviderUnavailable")
    assert failure_reason(_activity_error(timeout)) == (
        "Twilio is unreachable (gave up retrying: activity ScheduleToClose timeout)",
        "ProviderUnavailable",
    )


def test_failure_reason_of_a_bare_timeout() -> None:
    timeout = TimeoutError(
        "activity StartToClose timeout", type=TimeoutType.START_TO_CLOSE, last_heartbeat_details=[]
    )
    assert failure_reason(_activity_error(timeout)) == ("activity StartToClose timeout", None)
