"""Stand-in activities (registered under the real names, with the real input and result types:
``test_fakes.py`` holds them against the worker's registry) and helpers for the workflow tests
and for ``record_histories.py``."""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from activities.store import select_rules, wants_hours
from inbox import sla
from inbox.contracts import (
    ACTIVITY_DELIVER_MESSAGE,
    ACTIVITY_LOAD_STATE,
    ACTIVITY_MARK_MESSAGE_FAILED,
    ACTIVITY_OBSERVE,
    ACTIVITY_RELEASE_HELD,
    ACTIVITY_RUN_RULE,
    ACTIVITY_SLA_ALERT,
    ACTIVITY_WAKE_SNOOZED,
    SEARCH_ATTRIBUTES,
    SIGNAL_MESSAGE_SENT,
    ActionRequest,
    ActionTaken,
    BusinessHours,
    Clocks,
    ConversationEvent,
    ConversationInput,
    ConversationState,
    DeliverMessageInput,
    DeliverMessageResult,
    LoadStateInput,
    MarkFailedInput,
    ObserveInput,
    ObserveResult,
    PendingEvent,
    ReleaseHeldInput,
    ReleaseHeldResult,
    RuleSpec,
    RunRecord,
    RunRuleInput,
    RunRuleResult,
    SlaAlertInput,
    SlaPolicy,
    WakeSnoozedInput,
    conversation_workflow_id,
)
from inbox.rules.registry import RuleSet
from inbox.rules.validate import check_text
from inbox.services.conversations import row_state
from tests.polling import eventually
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


@dataclasses.dataclass
class FakeRow(Clocks):
    """A conversation row, as the store activities read and write it: the clocks, and what
    the services write."""

    id: int = 0
    created_at: datetime = T0
    status: str = "open"
    inbox_id: int | None = 1
    channel_id: int | None = None
    assignee_id: int | None = None
    snoozed_until: datetime | None = None


class Outage:
    """A database outage: every store step fails while it lasts, from the first step it
    catches, by ``clock`` (the time-skipping server's: ``env.get_current_time``)."""

    def __init__(self, length: timedelta, clock: Callable[[], Awaitable[datetime]]) -> None:
        self.length = length
        self.clock = clock
        self.started: datetime | None = None
        self.refused = 0

    async def check(self) -> None:
        now = await self.clock()
        self.started = self.started or now
        if now - self.started < self.length:
            self.refused += 1
            raise ApplicationError("the database is unreachable", type="OperationalError")


class FakeStore:
    """The conversation table, in memory: ``load_conversation_state`` and the store step
    ``observe_conversation`` (rules and facts from the fake automation)."""

    def __init__(self) -> None:
        self.rows: dict[int, FakeRow] = {}
        self.loads = 0
        self.records: list[Clocks] = []
        self.automation: FakeAutomation | None = None  # set by ``fake_worker``
        self.outage: Outage | None = None
        self.released: list[ReleaseHeldInput] = []
        self.cancelled: set[int] = set()  # held messages cancelled in the "database"
        self.woken: list[WakeSnoozedInput] = []
        # The conversations' inbox SLA policy, and what the SLA steps saw.
        self.sla_policy: SlaPolicy | None = None
        self.sla_ended: list[sla.Ended] = []
        self.alerts: list[SlaAlertInput] = []
        self.hours: BusinessHours | None = None  # every row's inbox's hours

    def add(self, conversation_id: int, **fields: Any) -> FakeRow:
        if "opened_at" in fields:
            fields["created_at"] = fields.pop("opened_at")
        self.rows[conversation_id] = FakeRow(id=conversation_id, **fields)
        return self.rows[conversation_id]

    @activity.defn(name=ACTIVITY_LOAD_STATE)
    async def load(self, request: LoadStateInput) -> ConversationState:
        self.loads += 1
        row = self.rows.get(request.conversation_id)
        if row is None:
            raise ApplicationError("no such conversation", non_retryable=True)
        return row_state(row)  # type: ignore[arg-type]

    @activity.defn(name=ACTIVITY_WAKE_SNOOZED)
    async def wake(self, request: WakeSnoozedInput) -> bool:
        self.woken.append(request)
        row = self.rows.get(request.conversation_id)
        if row is None or row.snoozed_until != request.until:
            return False
        row.snoozed_until = None
        return True

    @activity.defn(name=ACTIVITY_OBSERVE)
    async def observe(self, request: ObserveInput) -> ObserveResult:
        if self.outage is not None:
            await self.outage.check()
        automation = self.automation or FakeAutomation()
        rule_set = RuleSet(rules=automation.rules)
        rules, wants_facts = select_rules(rule_set, request)
        row = self.rows.get(request.conversation_id)
        if row is None:
            return ObserveResult(rules=rules, found=False)
        running = None
        if request.clocks is not None:
            self.records.append(request.clocks)
            request.clocks.copy_to(row)
            if request.sla is not None:
                at = request.event_at or request.now
                running, ended = sla.plan(request.clocks, request.sla, self.sla_policy, at)
                self.sla_ended.extend(ended)
        facts = dict(automation.facts) if wants_facts else None
        hours = self.hours if wants_hours(rules, request) else None
        return ObserveResult(rules=rules, facts=facts, sla=running, hours=hours)

    @activity.defn(name=ACTIVITY_SLA_ALERT)
    async def sla_alert(self, request: SlaAlertInput) -> bool:
        self.alerts.append(request)
        return request.conversation_id in self.rows

    @activity.defn(name=ACTIVITY_RELEASE_HELD)
    async def release(self, request: ReleaseHeldInput) -> ReleaseHeldResult:
        self.released.append(request)
        if request.cancel or request.message_id in self.cancelled:
            return ReleaseHeldResult()
        sent = ConversationEvent(
            key=f"msg-{request.message_id}",
            at=request.now,
            message_id=request.message_id,
            automated=True,
            by_automation=True,
        )
        return ReleaseHeldResult(events=[PendingEvent(SIGNAL_MESSAGE_SENT, sent)])


class FakeSms:
    """``deliver_message`` and ``mark_message_failed``; ``fail`` decides how delivery fails."""

    def __init__(self) -> None:
        self.attempts: list[int] = []
        self.delivered: list[int] = []
        self.failed: list[MarkFailedInput] = []
        self.fail: Callable[[int], Exception | None] = lambda _message_id: None
        self.release: Any = None  # an asyncio.Event: when set, delivery waits for it

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


_message_ids = itertools.count(900_000)


class FakeAutomation:
    """``automation_run_rule`` without a database: rules from YAML text, facts from a dict,
    actions and rule runs recorded in lists. A ``send_sms`` queues a message as the real action
    does: its ``message_sent`` comes back in the result for the workflow to apply."""

    def __init__(self, rules_yaml: str = "", facts: dict[str, Any] | None = None) -> None:
        self.rules: list[RuleSpec] = []
        self.facts: dict[str, Any] = facts or {}
        self.actions: list[ActionRequest] = []
        self.runs: list[RunRecord] = []
        self.done: dict[str, tuple[ActionTaken, list[PendingEvent]]] = {}
        self.outage: Outage | None = None
        if rules_yaml:
            self.set_rules(rules_yaml)

    def set_rules(self, rules_yaml: str) -> None:
        result = check_text(rules_yaml, "fake.yaml")
        if result.problems:
            raise ValueError("\n".join(str(problem) for problem in result.problems))
        self.rules = result.rules

    @activity.defn(name=ACTIVITY_RUN_RULE)
    async def run_rule(self, request: RunRuleInput) -> RunRuleResult:
        if self.outage is not None:
            await self.outage.check()
        result = RunRuleResult()
        for action in request.actions:
            if action.key not in self.done and not request.failure:
                self.actions.append(action)
                self.done[action.key] = (
                    ActionTaken(action.kind, "done", action.kind),
                    self._events(action, request),
                )
            taken, events = self.done.get(
                action.key, (ActionTaken(action.kind, "failed", request.failure), [])
            )
            result.actions.append(taken)
            result.events.extend(events)
        if all(
            run.trigger_key != request.record.trigger_key or run.rule != request.record.rule
            for run in self.runs
        ):
            self.runs.append(dataclasses.replace(request.record, actions=result.actions))
        return result

    def _events(self, action: ActionRequest, request: RunRuleInput) -> list[PendingEvent]:
        if action.kind != "send_sms":
            return []
        message_id = next(_message_ids)
        at = request.record.evaluated_at or T0
        sent = ConversationEvent(
            key=f"msg-{message_id}",
            at=at,
            message_id=message_id,
            automated=True,
            by_automation=True,
            body=str(action.params.get("text", "")),
        )
        return [PendingEvent(SIGNAL_MESSAGE_SENT, sent)]


def fake_worker(
    client: Client,
    store: FakeStore,
    sms: FakeSms,
    task_queue: str,
    automation: FakeAutomation | None = None,
) -> Worker:
    automation = automation or FakeAutomation()
    store.automation = automation
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[ConversationWorkflow, SendMessageWorkflow],
        activities=fake_activities(store, sms, automation),
    )


def fake_activities(
    store: FakeStore, sms: FakeSms, automation: FakeAutomation
) -> list[Callable[..., Any]]:
    """Every fake, as the real worker registers the real ones (``test_fakes.py``)."""
    return [
        store.load,
        store.observe,
        store.release,
        store.wake,
        store.sla_alert,
        sms.deliver,
        sms.mark_failed,
        automation.run_rule,
    ]


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


async def query_state(handle: WorkflowHandle[Any, Any]) -> ConversationState | None:
    """The workflow's state, or None while it cannot answer (still loading, or continuing as
    new: the test server can leave a query that reaches a run as it continues as new
    unanswered until the default 30 s timeout, so a short RPC timeout asks again instead)."""
    try:
        state: ConversationState = await handle.query(
            "state", result_type=ConversationState, rpc_timeout=timedelta(seconds=2)
        )
    except Exception:
        return None
    return state


async def wait_for_state(
    handle: WorkflowHandle[Any, Any],
    ready: Callable[[ConversationState], bool],
    timeout: float = 15,
) -> ConversationState:
    """The workflow's state once ``ready(state)`` (signals are processed asynchronously)."""

    async def check() -> ConversationState | None:
        state = await query_state(handle)
        return state if state is not None and ready(state) else None

    state: ConversationState = await eventually(check, timeout, "workflow state")
    return state


def unique_queue() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


def unique_id() -> int:
    return uuid.uuid4().int % 1_000_000_000
