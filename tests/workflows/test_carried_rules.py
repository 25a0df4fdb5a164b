"""Rules carried in the inbound signal (``ConversationEvent.rules``): the workflow reacts with
them instead of a step that reads the rules, and writes the event's clocks with the first rule
step. It falls back to reading them (``observe_conversation``) whenever they cannot stand in."""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from inbox.contracts import (
    EVENT_RULES_FRESH_SECONDS,
    SIGNAL_MESSAGE_RECEIVED,
    SIGNAL_TRIGGERS,
    ConversationEvent,
    ConversationState,
)
from tests.workflows.fakes import (
    FakeAutomation,
    FakeObserver,
    FakeSms,
    FakeStore,
    carried,
    fake_worker,
    signal_with_start,
    unique_id,
    unique_queue,
    wait_for_state,
)
from workflows.conversation import apply_event

ACKNOWLEDGE = """
- name: acknowledge
  trigger: message_received
  then:
    - send_sms: "Thanks, we got your message."
"""

NUDGE = """
- name: nudge
  trigger: message_received
  wait: 15m
  if:
    - conversation.awaiting_reply: true
  then:
    - add_note: "Still waiting for a reply."
"""

PRICING_ONLY = """
- name: pricing
  trigger: message_received
  if:
    - message.body: {contains: pricing}
  then:
    - add_tag: pricing
"""

VIP_ONLY = """
- name: vip
  trigger: message_received
  if:
    - contact.fields.plan: vip
  then:
    - add_tag: vip
"""


def _local_steps(events: Any) -> int:
    return sum(
        1
        for event in events
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and event.marker_recorded_event_attributes.marker_name == "core_local_activity"
    )


@dataclass
class Reaction:
    """What a test looks at after the workflow handled the message."""

    store: FakeStore
    observer: FakeObserver
    at: datetime
    conversation_id: int
    state: ConversationState
    local_steps: int  # local activities in the workflow's history


async def _inbound(
    env: WorkflowEnvironment,
    automation: FakeAutomation,
    rules_yaml: str,
    *,
    carried_yaml: str | None = None,
    age: timedelta = timedelta(0),
    triggers: list[str] | None = None,
    body: str = "hi",
) -> Reaction:
    """A new conversation's first inbound message, its signal carrying the rules of
    ``carried_yaml`` (default: the worker's own) read ``age`` before the workflow sees it."""
    store, sms, queue, cid = FakeStore(), FakeSms(), unique_queue(), unique_id()
    store.add(cid)
    automation.set_rules(carried_yaml or rules_yaml)
    rules = carried(automation)
    if triggers is not None:
        rules.triggers = triggers
    automation.set_rules(rules_yaml)
    observer = FakeObserver(store, automation)
    at = await env.get_current_time() - age
    payload = ConversationEvent(key="msg-1", at=at, message_id=1, body=body, rules=rules)
    first = ConversationState(conversation_id=cid, inbox_id=1, opened_at=at)
    async with fake_worker(env.client, store, sms, queue, automation, observer):
        handle = await signal_with_start(
            env.client, queue, cid, SIGNAL_MESSAGE_RECEIVED, payload, state=first
        )
        await wait_for_state(handle, lambda s: s.messages_received == 1)
        await _idle(handle)
        state = await handle.query("state", result_type=ConversationState)
        history = await handle.fetch_history()
    return Reaction(store, observer, at, cid, state, _local_steps(history.events))


async def _idle(handle: WorkflowHandle[Any, Any]) -> None:
    """Until the workflow has handled what it was sent (its rules run, its clocks written)."""
    deadline = asyncio.get_running_loop().time() + 15
    while not await handle.query("idle", result_type=bool):
        assert asyncio.get_running_loop().time() < deadline, "the workflow did not settle"
        await asyncio.sleep(0.05)


async def test_an_auto_reply_to_a_new_conversation_is_one_step(env: WorkflowEnvironment) -> None:
    automation = FakeAutomation()
    got = await _inbound(env, automation, ACKNOWLEDGE)
    assert got.local_steps == 1  # no read of the rules, no separate clock write
    assert got.observer.calls == []
    (fired,) = automation.fired
    assert fired.clocks is not None and fired.clocks.first_inbound_at == got.at
    assert got.store.rows[got.conversation_id].first_inbound_at == got.at  # written by it
    assert [action.kind for action in automation.actions] == ["send_sms"]
    assert [run.outcome for run in automation.runs] == ["fired"]


async def test_rules_carried_too_long_ago_are_read_again(env: WorkflowEnvironment) -> None:
    # The relay delivered the signal late (a Temporal outage): a rule may have been edited
    # since, so the workflow reads the rules in force instead of the carried ones.
    automation = FakeAutomation()
    edited = ACKNOWLEDGE.replace("Thanks", "Hello")
    late = timedelta(seconds=EVENT_RULES_FRESH_SECONDS + 50)
    got = await _inbound(env, automation, edited, carried_yaml=ACKNOWLEDGE, age=late)
    assert [call.triggers for call in got.observer.calls] == [["opened", "message_received"]]
    assert [action.params for action in automation.actions] == [
        {"text": "Hello, we got your message."}
    ]
    assert got.local_steps == 2


async def test_rules_not_covering_every_trigger_are_read_again(env: WorkflowEnvironment) -> None:
    automation = FakeAutomation()
    got = await _inbound(env, automation, ACKNOWLEDGE, triggers=["message_received"])
    assert [call.triggers for call in got.observer.calls] == [["opened", "message_received"]]
    assert [action.kind for action in automation.actions] == ["send_sms"]


async def test_when_no_rule_acts_the_clocks_are_written_alone(env: WorkflowEnvironment) -> None:
    # Only a delayed rule: it is armed, and the clocks go in a step of their own (no rules
    # read), as before the rules were carried.
    automation = FakeAutomation()
    got = await _inbound(env, automation, NUDGE)
    assert [wait.rule for wait in got.state.automation.waits] == ["nudge"]
    assert [(call.triggers, call.clocks is not None) for call in got.observer.calls] == [([], True)]
    assert got.store.rows[got.conversation_id].last_inbound_at == got.at
    assert automation.fired == []
    assert got.local_steps == 1


async def test_a_skipped_rule_writes_the_clocks_then_its_record(env: WorkflowEnvironment) -> None:
    automation = FakeAutomation()
    got = await _inbound(env, automation, PRICING_ONLY)
    assert [run.outcome for run in automation.runs] == ["skipped"]
    assert "pricing" in automation.runs[0].reason
    assert [call.triggers for call in got.observer.calls] == [[]]  # the clocks alone
    assert got.store.rows[got.conversation_id].first_inbound_at == got.at
    assert got.local_steps == 2


async def test_a_rule_that_reads_stored_facts_reads_them_with_the_rules(
    env: WorkflowEnvironment,
) -> None:
    automation = FakeAutomation(facts={"contact.fields.plan": "vip"})
    got = await _inbound(env, automation, VIP_ONLY)
    assert [call.triggers for call in got.observer.calls] == [["opened", "message_received"]]
    assert [action.kind for action in automation.actions] == ["add_tag"]


@pytest.mark.parametrize(
    "before",
    [
        ConversationState(conversation_id=1),
        ConversationState(conversation_id=1, status="closed", closed_at=datetime(2025, 1, 1)),
        ConversationState(conversation_id=1, status="spam", closed_at=datetime(2025, 1, 1)),
        ConversationState(conversation_id=1, first_inbound_at=datetime(2025, 1, 1)),
    ],
)
def test_signal_triggers_cover_what_an_inbound_message_fires(before: ConversationState) -> None:
    # What the webhook attaches rules for must include every trigger the workflow can fire on
    # that signal; otherwise the workflow reads the rules again (correct, one step slower).
    state = dataclasses.replace(before)
    message = ConversationEvent(key="msg-9", at=datetime(2025, 2, 1), message_id=9)
    fired = apply_event(state, SIGNAL_MESSAGE_RECEIVED, message)
    assert set(fired) <= set(SIGNAL_TRIGGERS[SIGNAL_MESSAGE_RECEIVED])
