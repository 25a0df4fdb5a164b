"""Stand-in activities (registered under the real names) and helpers for the workflow tests and
for ``record_histories.py``."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from inbox.contracts import (
    ACTIVITY_DELIVER_MESSAGE,
    ACTIVITY_FIRE,
    ACTIVITY_LOAD_RULES,
    ACTIVITY_LOAD_STATE,
    ACTIVITY_MARK_MESSAGE_FAILED,
    ACTIVITY_OBSERVE,
    ACTIVITY_RECORD_CLOCKS,
    ACTIVITY_RECORD_RUN,
    ACTIVITY_RUN_ACTION,
    ACTIVITY_SNAPSHOT,
    SEARCH_ATTRIBUTES,
    SIGNAL_MESSAGE_RECEIVED,
    SIGNAL_TRIGGERS,
    ActionTaken,
    ConversationEvent,
    ConversationInput,
    ConversationState,
    DeliverMessageInput,
    DeliverMessageResult,
    EventRules,
    FireEventInput,
    FireResult,
    LoadRulesInput,
    LoadRulesResult,
    LoadStateInput,
    MarkFailedInput,
    ObserveInput,
    ObserveResult,
    RecordClocksInput,
    RecordRunInput,
    RuleSpec,
    RunActionInput,
    RunActionResult,
    SnapshotInput,
    SnapshotResult,
    conversation_workflow_id,
)
from inbox.rules.registry import RuleSet
from inbox.rules.validate import check_text
from workflows.conversation import ConversationWorkflow
from workflows.send_message import SendMessageWorkflow

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

_INDEXED = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
}


async def register_search_attributes(client: Client) -> None:
    """Register the conversation search attributes on the client's namespace."""
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={name: _INDEXED[kind] for name, kind in SEARCH_ATTRIBUTES.items()},
        )
    )


class FakeStore:
    """The conversation table, in memory."""

    def __init__(self) -> None:
        self.rows: dict[int, ConversationState] = {}
        self.loads = 0
        self.records: list[ConversationState] = []

    def add(self, conversation_id: int, **fields: Any) -> ConversationState:
        fields.setdefault("opened_at", T0)
        fields.setdefault("inbox_id", 1)
        self.rows[conversation_id] = ConversationState(conversation_id=conversation_id, **fields)
        return self.rows[conversation_id]

    @activity.defn(name=ACTIVITY_LOAD_STATE)
    async def load(self, request: LoadStateInput) -> ConversationState:
        self.loads += 1
        row = self.rows.get(request.conversation_id)
        if row is None:
            raise ApplicationError("no such conversation", non_retryable=True)
        return dataclasses.replace(row)

    @activity.defn(name=ACTIVITY_RECORD_CLOCKS)
    async def record(self, request: RecordClocksInput) -> None:
        self.records.append(request.state)
        row = self.rows[request.state.conversation_id]
        for name in (
            "first_inbound_at",
            "first_response_at",
            "last_inbound_at",
            "last_outbound_at",
            "closed_at",
            "time_to_first_response_seconds",
            "time_to_close_seconds",
        ):
            setattr(row, name, getattr(request.state, name))
        # What the services write to the row themselves.
        row.status = request.state.status


class FakeSms:
    """``deliver_message`` and ``mark_message_failed``; ``fail`` decides how delivery fails."""

    def __init__(self) -> None:
        self.attempts: list[int] = []
        self.delivered: list[int] = []
        self.failed: list[MarkFailedInput] = []
        self.fail: Callable[[int], Exception | None] = lambda _message_id: None
        self.release: asyncio.Event | None = None  # when set, delivery waits for it

    @activity.defn(name=ACTIVITY_DELIVER_MESSAGE)
    async def deliver(self, request: DeliverMessageInput) -> DeliverMessageResult:
        self.attempts.append(request.message_id)
        if self.release is not None:
            await self.release.wait()
        error = self.fail(request.message_id)
        if error is not None:
            raise error
        self.delivered.append(request.message_id)
        return DeliverMessageResult(status="sent", provider_message_id=f"SM{request.message_id}")

    @activity.defn(name=ACTIVITY_MARK_MESSAGE_FAILED)
    async def mark_failed(self, request: MarkFailedInput) -> None:
        self.failed.append(request)


class FakeAutomation:
    """The automation activities without a database: rules from YAML text, facts from a dict,
    actions and rule runs recorded in lists."""

    def __init__(self, rules_yaml: str = "", facts: dict[str, Any] | None = None) -> None:
        self.rules: list[RuleSpec] = []
        self.facts: dict[str, Any] = facts or {}
        self.actions: list[RunActionInput] = []
        self.runs: list[RecordRunInput] = []
        # Where ``fire`` writes the clocks an event hands it (``fake_worker`` sets the store).
        self.store: FakeStore | None = None
        self.fired: list[FireEventInput] = []
        if rules_yaml:
            self.set_rules(rules_yaml)

    def set_rules(self, rules_yaml: str) -> None:
        result = check_text(rules_yaml, "fake.yaml")
        if result.problems:
            raise ValueError("\n".join(str(problem) for problem in result.problems))
        self.rules = result.rules

    @activity.defn(name=ACTIVITY_LOAD_RULES)
    async def load_rules(self, request: LoadRulesInput) -> LoadRulesResult:
        if request.rule is not None:
            return LoadRulesResult([rule for rule in self.rules if rule.name == request.rule])
        trigger = request.trigger
        return LoadRulesResult(
            [rule for rule in self.rules if trigger is None or trigger in rule.triggers]
        )

    @activity.defn(name=ACTIVITY_SNAPSHOT)
    async def snapshot(self, request: SnapshotInput) -> SnapshotResult:
        return SnapshotResult(found=True, facts=dict(self.facts))

    @activity.defn(name=ACTIVITY_RUN_ACTION)
    async def run_action(self, request: RunActionInput) -> RunActionResult:
        self.actions.append(request)
        return RunActionResult("done", request.kind)

    @activity.defn(name=ACTIVITY_RECORD_RUN)
    async def record_run(self, request: RecordRunInput) -> None:
        self.runs.append(request)

    @activity.defn(name=ACTIVITY_FIRE)
    async def fire(self, request: FireEventInput) -> FireResult:
        self.fired.append(request)
        if request.clocks is not None and self.store is not None:
            await self.store.record(RecordClocksInput(state=request.clocks))
        results = [await self.run_action(action) for action in request.actions]
        taken = [
            ActionTaken(action.kind, result.status, result.detail)
            for action, result in zip(request.actions, results, strict=True)
        ]
        await self.record_run(dataclasses.replace(request.record, actions=taken))
        return FireResult(results=results)

    def all(self) -> list[Callable[..., Any]]:
        return [self.load_rules, self.snapshot, self.run_action, self.record_run, self.fire]


class FakeObserver:
    """``observe_conversation`` over the fake store and the fake automation."""

    def __init__(self, store: FakeStore, automation: FakeAutomation) -> None:
        self.store = store
        self.automation = automation
        self.calls: list[ObserveInput] = []

    @activity.defn(name=ACTIVITY_OBSERVE)
    async def observe(self, request: ObserveInput) -> ObserveResult:
        self.calls.append(request)
        if request.clocks is not None:
            await self.store.record(RecordClocksInput(state=request.clocks))
        rules = [
            rule
            for rule in self.automation.rules
            if rule.name == request.rule
            or (rule.enabled and any(trigger in rule.triggers for trigger in request.triggers))
        ]
        wants_facts = any(
            rule.enabled and (request.rule is not None or not rule.wait_seconds) for rule in rules
        )
        snapshot = SnapshotResult(found=True, facts=dict(self.automation.facts))
        return ObserveResult(LoadRulesResult(rules), snapshot if wants_facts else None)


def fake_worker(
    client: Client,
    store: FakeStore,
    sms: FakeSms,
    task_queue: str,
    automation: FakeAutomation | None = None,
    observer: FakeObserver | None = None,
) -> Worker:
    automation = automation or FakeAutomation()
    automation.store = store
    observer = observer or FakeObserver(store, automation)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[ConversationWorkflow, SendMessageWorkflow],
        activities=[
            store.load,
            store.record,
            sms.deliver,
            sms.mark_failed,
            observer.observe,
            *automation.all(),
        ],
    )


def carried(automation: FakeAutomation, signal: str = SIGNAL_MESSAGE_RECEIVED) -> EventRules:
    """The rules a signal carries, as the webhook attaches them (``event_rules``)."""
    triggers = list(SIGNAL_TRIGGERS[signal])
    rules = RuleSet(rules=automation.rules).for_triggers(triggers)
    return EventRules(triggers=triggers, rules=LoadRulesResult(rules))


def event(key: str, minutes: float = 0, **fields: Any) -> ConversationEvent:
    """An event ``minutes`` after T0."""
    return ConversationEvent(key=key, at=T0 + timedelta(minutes=minutes), **fields)


async def signal_with_start(
    client: Client,
    task_queue: str,
    conversation_id: int,
    signal: str,
    payload: ConversationEvent,
    **inputs: Any,
) -> WorkflowHandle[Any, Any]:
    """What the outbox relay does: signal the conversation, starting it if it is not running."""
    return await client.start_workflow(
        ConversationWorkflow.run,
        ConversationInput(conversation_id=conversation_id, **inputs),
        id=conversation_workflow_id(conversation_id),
        task_queue=task_queue,
        start_signal=signal,
        start_signal_args=[payload],
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


async def wait_for_state(
    handle: WorkflowHandle[Any, Any],
    ready: Callable[[ConversationState], bool],
    timeout: float = 15,
) -> ConversationState:
    """Query the workflow until ``ready(state)`` (signals are processed asynchronously)."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: ConversationState | None = None
    while True:
        try:
            # A short RPC timeout: the test server can leave a query that reaches a run as it
            # continues as new unanswered (until the default 30 s timeout); ask again instead.
            last = await handle.query(
                "state", result_type=ConversationState, rpc_timeout=timedelta(seconds=2)
            )
        except Exception:  # still loading, or the first task is not done yet
            last = None
        if last is not None and ready(last):
            return last
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"workflow state never became ready; last: {last}")
        await asyncio.sleep(0.05)


async def eventually(check: Callable[[], bool], timeout: float = 15) -> None:
    """Wait until ``check()`` (an activity runs after the state it writes is queryable)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition never became true")
        await asyncio.sleep(0.05)


def unique_queue() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


def unique_id() -> int:
    return uuid.uuid4().int % 1_000_000_000
