"""ConversationWorkflow on the time-skipping test server, with in-memory stand-in activities."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from inbox.contracts import (
    SA_ASSIGNEE,
    SA_INBOX,
    SA_LAST_INBOUND,
    SA_STATUS,
    Clocks,
    ConversationInput,
    ConversationState,
    conversation_workflow_id,
)
from tests.polling import eventually
from tests.workflows.fakes import (
    T0,
    FakeAutomation,
    FakeSms,
    FakeStore,
    Outage,
    event,
    fake_worker,
    signal_with_start,
    unique_id,
    unique_queue,
    wait_for_state,
)
from workflows.conversation import apply_event


async def test_reply_two_hours_later_gives_120_minutes(env: WorkflowEnvironment) -> None:
    store, sms, queue, cid = FakeStore(), FakeSms(), unique_queue(), unique_id()
    store.add(cid)
    async with fake_worker(env.client, store, sms, queue):
        handle = await signal_with_start(
            env.client, queue, cid, "message_received", event("msg-1", 0, message_id=1)
        )
        await handle.signal("message_sent", event("msg-2", 120, message_id=2, author_id=7))
        state = await wait_for_state(handle, lambda s: s.messages_sent == 1)
        await eventually(lambda: bool(sms.delivered) and len(store.records) == 2)
    assert state.clocks.first_inbound_at == T0
    assert state.clocks.first_response_at == T0 + timedelta(minutes=120)
    assert state.clocks.time_to_first_response_seconds == 120 * 60
    assert state.last_direction == "outbound"
    # Written to the store, and the reply was delivered.
    assert store.rows[cid].time_to_first_response_seconds == 7200
    assert store.rows[cid].first_response_at == T0 + timedelta(hours=2)
    assert sms.delivered == [2]


async def test_automated_message_does_not_stop_first_response_clock(
    env: WorkflowEnvironment,
) -> None:
    store, sms, queue, cid = FakeStore(), FakeSms(), unique_queue(), unique_id()
    store.add(cid)
    async with fake_worker(env.client, store, sms, queue):
        handle = await signal_with_start(
            env.client, queue, cid, "message_received", event("msg-1", 0, message_id=1)
        )
        await handle.signal("message_sent", event("msg-2", 1, message_id=2, automated=True))
        auto = await wait_for_state(handle, lambda s: s.messages_sent == 1)
        assert auto.clocks.first_response_at is None
        assert auto.clocks.time_to_first_response_seconds is None
        assert auto.clocks.last_outbound_at == T0 + timedelta(minutes=1)
        assert auto.clocks.last_response_at is None  # the contact still awaits a person
        await handle.signal("message_sent", event("msg-3", 45, message_id=3, author_id=7))
        human = await wait_for_state(handle, lambda s: s.messages_sent == 2)
        await eventually(lambda: store.rows[cid].first_response_at is not None)
    assert human.clocks.time_to_first_response_seconds == 45 * 60
    assert store.rows[cid].time_to_first_response_seconds == 45 * 60
    assert human.clocks.last_response_at == T0 + timedelta(minutes=45)
    assert store.rows[cid].last_response_at == T0 + timedelta(minutes=45)


async def test_close_then_reopen_then_close_recomputes_time_to_close(
    env: WorkflowEnvironment,
) -> None:
    store, sms, queue, cid = FakeStore(), FakeSms(), unique_queue(), unique_id()
    store.add(cid, opened_at=T0)
    async with fake_worker(env.client, store, sms, queue):
        handle = await signal_with_start(
            env.client, queue, cid, "message_received", event("msg-1", 0, message_id=1)
        )
        await handle.signal("closed", event("closed-1", 90))
        closed = await wait_for_state(handle, lambda s: s.status == "closed")
        assert closed.clocks.closed_at == T0 + timedelta(minutes=90)
        assert closed.clocks.time_to_close_seconds == 90 * 60
        await eventually(lambda: store.rows[cid].time_to_close_seconds == 90 * 60)

        await handle.signal("reopened", event("reopened-2", 100))
        reopened = await wait_for_state(handle, lambda s: s.status == "open")
        assert reopened.clocks.closed_at is None
        assert reopened.clocks.time_to_close_seconds is None
        await eventually(lambda: store.rows[cid].closed_at is None)

        await handle.signal("closed", event("closed-3", 300))
        again = await wait_for_state(handle, lambda s: s.status == "closed")
        await eventually(lambda: store.rows[cid].time_to_close_seconds == 300 * 60)
    # Measured from the conversation's opening, not from the reopen.
    assert again.clocks.time_to_close_seconds == 300 * 60
    assert store.rows[cid].closed_at == T0 + timedelta(minutes=300)


async def test_duplicate_event_keys_are_ignored(env: WorkflowEnvironment) -> None:
    store, sms, queue, cid = FakeStore(), FakeSms(), unique_queue(), unique_id()
    store.add(cid)
    async with fake_worker(env.client, store, sms, queue):
        handle = await signal_with_start(
            env.client, queue, cid, "message_received", event("msg-1", 0, message_id=1)
        )
        # The relay may deliver a signal twice; a repeat with a later time must change nothing.
        await handle.signal("message_received", event("msg-1", 30, message_id=1))
        await handle.signal("message_sent", event("msg-2", 60, message_id=2))
        await handle.signal("message_sent", event("msg-2", 60, message_id=2))
        await handle.signal("message_received", event("msg-3", 70, message_id=3))
        state = await wait_for_state(handle, lambda s: "msg-3" in s.seen_keys)
    assert state.messages_received == 2
    assert state.messages_sent == 1
    assert state.clocks.last_inbound_at == T0 + timedelta(minutes=70)
    assert state.clocks.time_to_first_response_seconds == 3600
    assert sms.attempts == [2]  # delivered once


async def test_delivery_failure_marks_message_failed_with_reason(
    env: WorkflowEnvironment,
) -> None:
    store, sms, queue, cid = FakeStore(), FakeSms(), unique_queue(), unique_id()
    store.add(cid)
    sms.fail = lambda _id: ApplicationError(
        "The 'To' number is not a valid phone number",
        "21211",
        type="ProviderRejected",
        non_retryable=True,
    )
    async with fake_worker(env.client, store, sms, queue):
        handle = await signal_with_start(
            env.client, queue, cid, "message_received", event("msg-1", 0, message_id=1)
        )
        await handle.signal("message_sent", event("msg-2", 5, message_id=2, author_id=7))
        await wait_for_state(handle, lambda s: s.messages_sent == 1)
        while not sms.failed:
            await env.sleep(timedelta(seconds=1))
    assert sms.attempts == [2]  # non-retryable: one attempt
    [failed] = sms.failed
    assert failed.message_id == 2
    assert failed.reason == "The 'To' number is not a valid phone number"
    assert failed.code == "21211"


async def test_delivery_that_keeps_failing_gives_up_after_the_deadline(
    env: WorkflowEnvironment,
) -> None:
    store, sms, queue, cid = FakeStore(), FakeSms(), unique_queue(), unique_id()
    store.add(cid)
    sms.fail = lambda _id: ApplicationError("provider timed out", type="ProviderUnavailable")
    async with fake_worker(env.client, store, sms, queue):
        handle = await signal_with_start(
            env.client,
            queue,
            cid,
            "message_sent",
            event("msg-2", 5, message_id=2, author_id=7),
            delivery_timeout_seconds=60,
        )
        await wait_for_state(handle, lambda s: s.messages_sent == 1)
        for _ in range(120):
            if sms.failed:
                break
            await env.sleep(timedelta(seconds=5))
    # Retried with backoff (1 s, 2 s, 4 s …) until the 60 s deadline, then marked failed with
    # the provider's last error, not just "timed out".
    assert len(sms.attempts) >= 3
    [failed] = sms.failed
    assert failed.message_id == 2
    # The test server fails the activity with its last error once the next retry would pass
    # the deadline; a server that reports a timeout instead gets "… (gave up retrying: …)".
    assert failed.reason.startswith("provider timed out")
    assert failed.code == "ProviderUnavailable"
    assert sms.delivered == []


async def test_delivery_does_not_block_later_signals(env: WorkflowEnvironment) -> None:
    store, sms, queue, cid = FakeStore(), FakeSms(), unique_queue(), unique_id()
    store.add(cid)
    sms.release = asyncio.Event()
    async with fake_worker(env.client, store, sms, queue):
        handle = await signal_with_start(
            env.client, queue, cid, "message_received", event("msg-1", 0, message_id=1)
        )
        await handle.signal("message_sent", event("msg-2", 10, message_id=2, author_id=7))
        await handle.signal("message_received", event("msg-3", 20, message_id=3))
        state = await wait_for_state(handle, lambda s: s.messages_received == 2)
        assert sms.attempts == [2] and sms.delivered == []  # still delivering
        assert state.clocks.last_inbound_at == T0 + timedelta(minutes=20)
        sms.release.set()
        while not sms.delivered:
            await asyncio.sleep(0.05)
    assert sms.delivered == [2]


async def test_search_attributes_follow_the_state(env: WorkflowEnvironment) -> None:
    store, sms, queue, cid = FakeStore(), FakeSms(), unique_queue(), unique_id()
    store.add(cid, inbox_id=4, assignee_id=9)
    async with fake_worker(env.client, store, sms, queue):
        handle = await signal_with_start(
            env.client, queue, cid, "message_received", event("msg-1", 0, message_id=1)
        )
        await wait_for_state(handle, lambda s: s.messages_received == 1)
        attrs = (await handle.describe()).typed_search_attributes
        assert attrs.get(SA_STATUS) == "open"
        assert attrs.get(SA_INBOX) == 4
        assert attrs.get(SA_ASSIGNEE) == 9
        assert attrs.get(SA_LAST_INBOUND) == T0

        await handle.signal("assigned", event("assigned-2", 1, assignee_id=None))
        await handle.signal("moved", event("moved-3", 2, inbox_id=5))
        await handle.signal("closed", event("closed-4", 3))
        await wait_for_state(handle, lambda s: s.status == "closed")
        attrs = (await handle.describe()).typed_search_attributes
    assert attrs.get(SA_STATUS) == "closed"
    assert attrs.get(SA_INBOX) == 5
    assert attrs.get(SA_ASSIGNEE) is None  # removed when unassigned


async def test_continue_as_new_keeps_state_and_pending_events(env: WorkflowEnvironment) -> None:
    store, sms, queue, cid = FakeStore(), FakeSms(), unique_queue(), unique_id()
    store.add(cid)
    # All five signals reach the first run before any worker runs it, so the first run stops
    # after two events with three still queued: they must travel in ``pending``.
    handle = await signal_with_start(
        env.client, queue, cid, "message_received", event("msg-1", 0), max_events_per_run=2
    )
    first_run = handle.result_run_id
    await handle.signal("message_sent", event("msg-2", 30, message_id=2))
    await handle.signal("message_received", event("msg-3", 40))
    await handle.signal("message_received", event("msg-3", 40))  # a repeat, across runs
    await handle.signal("message_received", event("msg-5", 50))
    async with fake_worker(env.client, store, sms, queue):
        latest = env.client.get_workflow_handle(conversation_workflow_id(cid))
        state = await wait_for_state(latest, lambda s: "msg-5" in s.seen_keys)
        while not sms.delivered:
            await env.sleep(timedelta(seconds=1))
        run_id = (await latest.describe()).run_id
    assert run_id != first_run
    assert store.loads == 1  # the later runs got the state, they did not reload it
    assert state.messages_received == 3
    assert state.messages_sent == 1
    assert state.clocks.time_to_first_response_seconds == 30 * 60
    assert state.clocks.last_inbound_at == T0 + timedelta(minutes=50)
    assert sms.delivered == [2]

    history = await env.client.get_workflow_handle(
        conversation_workflow_id(cid), run_id=first_run
    ).fetch_history()
    last = history.events[-1]
    assert last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    [carried] = await env.client.data_converter.decode(
        last.workflow_execution_continued_as_new_event_attributes.input.payloads,
        [ConversationInput],
    )
    assert [p.event.key for p in carried.pending] == ["msg-3", "msg-3", "msg-5"]
    assert carried.state.messages_received == 1 and carried.max_events_per_run == 2


async def test_closed_conversation_ends_after_quiet_period_and_restarts_from_store(
    env: WorkflowEnvironment,
) -> None:
    store, sms, queue, cid = FakeStore(), FakeSms(), unique_queue(), unique_id()
    store.add(cid)
    async with fake_worker(env.client, store, sms, queue):
        handle = await signal_with_start(
            env.client, queue, cid, "message_received", event("msg-1", 0, message_id=1)
        )
        await handle.signal("message_sent", event("msg-2", 15, message_id=2, author_id=7))
        await handle.signal("closed", event("closed-3", 60))
        # Waiting on the result lets the test server skip the 7-day quiet period.
        final = await handle.result()
        assert isinstance(final, ConversationState)
        assert final.status == "closed"
        assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED

        # The next inbound starts it again; it reloads the clocks from the store.
        handle = await signal_with_start(
            env.client, queue, cid, "message_received", event("msg-4", 8 * 24 * 60, message_id=4)
        )
        state = await wait_for_state(handle, lambda s: "msg-4" in s.seen_keys)
    assert store.loads == 2
    assert state.status == "open"  # a new inbound reopens a closed conversation
    assert state.clocks.closed_at is None
    assert state.clocks.first_inbound_at == T0  # kept from the first run, via the store
    assert state.clocks.time_to_first_response_seconds == 15 * 60
    assert state.clocks.last_inbound_at == T0 + timedelta(days=8)


async def test_open_conversation_does_not_end_when_quiet(env: WorkflowEnvironment) -> None:
    store, sms, queue, cid = FakeStore(), FakeSms(), unique_queue(), unique_id()
    store.add(cid)
    async with fake_worker(env.client, store, sms, queue):
        handle = await signal_with_start(
            env.client, queue, cid, "message_received", event("msg-1", 0, message_id=1)
        )
        await wait_for_state(handle, lambda s: s.messages_received == 1)
        await env.sleep(timedelta(days=30))
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        await handle.terminate("test over")


async def test_missing_conversation_fails_the_workflow_clearly(env: WorkflowEnvironment) -> None:
    store, sms, queue, cid = FakeStore(), FakeSms(), unique_queue(), unique_id()
    async with fake_worker(env.client, store, sms, queue):
        handle = await signal_with_start(
            env.client, queue, cid, "message_received", event("msg-1", 0)
        )
        with pytest.raises(WorkflowFailureError) as raised:
            await handle.result()
    # The load activity's non-retryable error ends the workflow at once, naming the cause.
    causes: list[BaseException] = []
    cause: BaseException | None = raised.value.cause
    while cause is not None:
        causes.append(cause)
        cause = cause.__cause__ or getattr(cause, "cause", None)
    assert any(str(c) == "no such conversation" for c in causes), causes


def test_apply_event_returns_triggers() -> None:
    state = ConversationState(conversation_id=1, opened_at=T0)
    assert apply_event(state, "message_received", event("msg-1", 0)) == [
        "opened",
        "message_received",
    ]
    assert apply_event(state, "message_sent", event("msg-2", 1)) == ["message_sent"]
    assert apply_event(state, "assigned", event("a-1", 2, assignee_id=3)) == ["assigned"]
    assert apply_event(state, "assigned", event("a-2", 3, assignee_id=3)) == []
    assert apply_event(state, "moved", event("m-1", 4, inbox_id=2)) == ["moved"]
    assert apply_event(state, "closed", event("c-1", 5)) == ["closed"]
    assert apply_event(state, "closed", event("c-2", 6)) == []
    assert apply_event(state, "message_received", event("msg-3", 7)) == [
        "reopened",
        "message_received",
    ]
    assert apply_event(state, "reopened", event("r-1", 8)) == []


def test_apply_event_rejects_unknown_signal() -> None:
    with pytest.raises(ValueError, match="unknown conversation signal 'archived'"):
        apply_event(ConversationState(conversation_id=1), "archived", event("x", 0))


def test_spam_conversation_is_not_reopened_by_inbound() -> None:
    state = ConversationState(
        conversation_id=1, status="spam", clocks=Clocks(closed_at=T0), opened_at=T0
    )
    assert apply_event(state, "message_received", event("msg-1", 5)) == [
        "opened",
        "message_received",
    ]
    assert state.status == "spam"


async def test_each_message_writes_its_clocks_and_the_state_is_loaded_once(
    env: WorkflowEnvironment,
) -> None:
    store, sms, queue, cid = FakeStore(), FakeSms(), unique_queue(), unique_id()
    store.add(cid)
    async with fake_worker(env.client, store, sms, queue):
        handle = await signal_with_start(
            env.client, queue, cid, "message_received", event("msg-1", 0, message_id=1)
        )
        await handle.signal("message_received", event("msg-2", 1, message_id=2))
        await wait_for_state(handle, lambda s: s.messages_received == 2)
        await eventually(lambda: len(store.records) == 2)
    assert [clocks.last_inbound_at for clocks in store.records] == [
        T0,
        T0 + timedelta(minutes=1),
    ]
    assert store.rows[cid].last_inbound_at == T0 + timedelta(minutes=1)
    assert store.loads == 1


CLOSED_RULE = """
- name: survey-on-close
  trigger: closed
  then:
    - send_sms: "How did we do?"
"""


async def test_spam_stops_the_clocks_without_closing_rules_or_time_to_close(
    env: WorkflowEnvironment,
) -> None:
    store, sms, queue, cid = FakeStore(), FakeSms(), unique_queue(), unique_id()
    store.add(cid)
    automation = FakeAutomation(CLOSED_RULE)
    async with fake_worker(env.client, store, sms, queue, automation):
        handle = await signal_with_start(
            env.client, queue, cid, "message_received", event("msg-1", 0, message_id=1)
        )
        await handle.signal("marked_spam", event("marked_spam-2", 5))
        spam = await wait_for_state(handle, lambda s: s.status == "spam")
        attrs = (await handle.describe()).typed_search_attributes
        assert attrs.get(SA_STATUS) == "spam"  # operators find spam as spam
        await handle.signal("marked_not_spam", event("marked_not_spam-3", 6))
        back = await wait_for_state(handle, lambda s: s.status == "closed")
        attrs = (await handle.describe()).typed_search_attributes
    assert spam.clocks.closed_at == T0 + timedelta(minutes=5)
    assert spam.clocks.time_to_close_seconds is None  # spam is not a resolution
    assert (
        back.clocks.closed_at == spam.clocks.closed_at and back.clocks.time_to_close_seconds is None
    )
    assert attrs.get(SA_STATUS) == "closed"
    assert automation.actions == []  # no "closed" rule texted the spammer


async def test_a_workflow_started_with_its_state_does_not_load_it(env: WorkflowEnvironment) -> None:
    store, sms, queue, cid = FakeStore(), FakeSms(), unique_queue(), unique_id()
    store.add(cid)
    first = ConversationState(conversation_id=cid, inbox_id=1, opened_at=T0)
    async with fake_worker(env.client, store, sms, queue):
        handle = await signal_with_start(
            env.client, queue, cid, "message_received", event("msg-1", 0), state=first
        )
        state = await wait_for_state(handle, lambda s: s.messages_received == 1)
        await eventually(lambda: len(store.records) == 1)
    assert store.loads == 0
    assert state.clocks.first_inbound_at == T0
    assert store.rows[cid].first_inbound_at == T0


ACK_RULE = """
- name: acknowledge
  trigger: message_received
  then:
    - add_tag: acknowledged
"""
OPENED_RULE = ACK_RULE.replace("message_received", "opened")


async def test_a_three_minute_database_outage_delays_a_rule_it_does_not_lose_it(
    env: WorkflowEnvironment,
) -> None:
    store, sms, queue, cid = FakeStore(), FakeSms(), unique_queue(), unique_id()
    store.add(cid)
    automation = FakeAutomation(OPENED_RULE)
    store.outage = automation.outage = outage = Outage(timedelta(minutes=3), env.get_current_time)
    async with fake_worker(env.client, store, sms, queue, automation):
        handle = await signal_with_start(
            env.client, queue, cid, "message_received", event("msg-1", 0, message_id=1)
        )
        await env.sleep(timedelta(minutes=5))  # the retries wait on timers: skip them
        await eventually(lambda: automation.runs)
        await handle.signal("message_received", event("msg-2", 5, message_id=2))
        state = await wait_for_state(handle, lambda s: s.messages_received == 2)
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    assert outage.refused >= 3  # the steps were refused, and retried until it ended
    [run] = automation.runs
    assert run.outcome == "fired" and [a.status for a in run.actions] == ["done"]
    assert [action.kind for action in automation.actions] == ["add_tag"]  # done once
    assert store.rows[cid].last_inbound_at == state.clocks.last_inbound_at


async def test_a_rule_whose_step_fails_for_good_is_recorded_failed_and_the_rest_goes_on(
    env: WorkflowEnvironment,
) -> None:
    store, sms, queue, cid = FakeStore(), FakeSms(), unique_queue(), unique_id()
    store.add(cid)
    # Longer than a rule's step keeps retrying (an hour): it is given up, and its failure
    # recorded once the database is back.
    automation = FakeAutomation(ACK_RULE)
    automation.outage = Outage(timedelta(hours=2), env.get_current_time)
    async with fake_worker(env.client, store, sms, queue, automation):
        handle = await signal_with_start(
            env.client, queue, cid, "message_received", event("msg-1", 0, message_id=1)
        )
        await env.sleep(timedelta(hours=3))
        await eventually(lambda: automation.runs)
        await handle.signal("message_received", event("msg-2", 200, message_id=2))
        await wait_for_state(handle, lambda s: s.messages_received == 2)
        await eventually(lambda: len(automation.runs) == 2, timeout=30)
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    failed, fired = automation.runs
    assert failed.outcome == "failed"
    assert "the database is unreachable" in failed.reason
    assert [(a.kind, a.status) for a in failed.actions] == [("add_tag", "failed")]
    assert fired.outcome == "fired"  # the next event's rule ran as usual
