"""Activities of automation: read the rule set and the conversation, act, record.

Each action runs in one database transaction together with its idempotency record (keyed by
conversation, rule, trigger key and action index): a worker that crashes after acting and
retries finds the record and does not act twice. The webhook action is the one exception it
cannot cover (the other side acts outside our transaction); it sends an ``Idempotency-Key``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any, Protocol

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.store import commit_clocks, write_clocks
from inbox.contracts import (
    ACTIVITY_FIRE,
    ACTIVITY_LOAD_RULES,
    ACTIVITY_OBSERVE,
    ACTIVITY_RECORD_RUN,
    ACTIVITY_RUN_ACTION,
    ACTIVITY_SNAPSHOT,
    ActionTaken,
    ConversationState,
    DeliverMessageResult,
    FireEventInput,
    FireResult,
    LoadRulesInput,
    LoadRulesResult,
    ObserveInput,
    ObserveResult,
    RecordRunInput,
    RuleSpec,
    RunActionInput,
    RunActionResult,
    SnapshotInput,
    SnapshotResult,
    conversation_workflow_id,
)
from inbox.models import Conversation, Message, RuleAction, RuleRun
from inbox.providers import OutboundSms
from inbox.relay import Outgoing, Relay, take_outgoing
from inbox.rules import actions, engine
from inbox.rules.registry import RuleSet, registry_for
from inbox.rules.snapshot import build_facts
from inbox.settings import Settings

log = logging.getLogger(__name__)


class FirstAttempt(Protocol):
    """The first delivery attempt of a message an action queued (``SmsActivities``)."""

    def claim(self, message: Message) -> OutboundSms: ...

    def send_claimed(self, sms: OutboundSms, message_id: int) -> DeliverMessageResult: ...


class AutomationActivities:
    """The automation activities, bound to a database and settings (one instance per worker)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        *,
        flush_signals: bool = True,
        delivery: FirstAttempt | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        # After an action commits, hand its signal (closed, message_sent …) to the workflow at
        # once instead of waiting for the relay's next pass.
        self.flush_signals = flush_signals
        self._flushing: set[asyncio.Task[None]] = set()
        self._relay: Relay | None = None  # made on first use, with the activity's client
        # The SMS activities (``SmsActivities``): a message an action queues gets its first
        # attempt right here, counted in the action's own transaction, so an auto-reply reaches
        # the provider without another workflow task or transaction; if that attempt fails, the
        # workflow's delivery (with its retries and "failed" marking) takes over, and
        # reconciles with the provider instead of re-sending.
        self.delivery = delivery

    def all(self) -> Sequence[Callable[..., Any]]:
        """Every activity (``inbox.cli.worker.build_worker`` registers them)."""
        return [
            self.observe,
            self.fire,
            self.load_rules,
            self.snapshot,
            self.run_action,
            self.record_run,
        ]

    async def _rule_set(self) -> RuleSet:
        # The registry re-reads a file only when it changed (stat), off the event loop.
        return await asyncio.to_thread(registry_for(self.settings.rules_dir).current)

    def _rules_result(self, rules: list[RuleSpec], rule_set: RuleSet) -> LoadRulesResult:
        return LoadRulesResult(
            rules=rules,
            sends_per_hour=self.settings.automation_sends_per_hour,
            problems=[str(problem) for problem in rule_set.problems],
        )

    @activity.defn(name=ACTIVITY_OBSERVE)
    async def observe(self, data: ObserveInput) -> ObserveResult:
        """One event's step: write the clocks, read the rules its triggers (or the named rule)
        select, and the conversation's facts if one of those rules is evaluated now."""
        # Clocks alone (the rules came with the event) ask for no rules: none are read.
        rule_set = await self._rule_set() if data.rule or data.triggers else RuleSet()
        if data.rule is not None:
            found = rule_set.get(data.rule)
            rules = [found] if found is not None else []
        else:
            rules = rule_set.for_triggers(data.triggers)
        wants_facts = any(
            rule.enabled
            and (data.rule is not None or not rule.wait_seconds)
            and engine.needs_stored_facts(rule, data.known, data.now)
            for rule in rules
        )

        def store() -> SnapshotResult | None:
            with self.sessions() as session:
                conversation = None
                if data.clocks is not None:
                    conversation = write_clocks(session, data.clocks)
                snapshot = None
                if wants_facts:
                    conversation = conversation or session.get(Conversation, data.conversation_id)
                    snapshot = (
                        SnapshotResult(found=False)
                        if conversation is None
                        else SnapshotResult(
                            found=True,
                            facts=build_facts(
                                session, conversation, data.now, self.settings.public_url
                            ),
                        )
                    )
                session.commit()
                return snapshot

        snapshot = None
        if data.clocks is not None or wants_facts:
            snapshot = await asyncio.to_thread(store)
        return ObserveResult(rules=self._rules_result(rules, rule_set), snapshot=snapshot)

    @activity.defn(name=ACTIVITY_FIRE)
    async def fire(self, data: FireEventInput) -> FireResult:
        """Write the event's clocks if given, run a rule's local actions in order, then store
        its run record. A retry repeats nothing: the clocks are the same values, each action
        finds its own idempotency record, the run record its key."""
        # The clocks go in the first action's transaction and the run record in the last's
        # (one commit per action, none of their own).
        clocks = data.clocks
        results: list[RunActionResult] = []
        recorded = False
        for index, action in enumerate(data.actions):
            last = index == len(data.actions) - 1
            record = _with_actions(data.record, data.actions, results) if last else None
            try:
                acted = await self._act(action, clocks, record)
                result, recorded = acted.result, acted.recorded
                clocks = None
            except ApplicationError as exc:
                if not exc.non_retryable:
                    raise
                # What the workflow records for an action that fails for good.
                result = RunActionResult("failed", str(exc))
            results.append(result)
        if clocks is not None:  # no action got as far as its transaction
            await asyncio.to_thread(commit_clocks, self.sessions, clocks)
        if not recorded:
            await self.record_run(_with_actions(data.record, data.actions, results))
        return FireResult(results=results)

    @activity.defn(name=ACTIVITY_LOAD_RULES)
    async def load_rules(self, data: LoadRulesInput) -> LoadRulesResult:
        """The rules in force now (re-read when a file changed), filtered by trigger or name."""
        rule_set = await self._rule_set()
        if data.rule is not None:
            found = rule_set.get(data.rule)
            rules = [found] if found is not None else []
        elif data.trigger is not None:
            rules = rule_set.for_trigger(data.trigger)
        else:
            rules = list(rule_set.rules)
        return self._rules_result(rules, rule_set)

    @activity.defn(name=ACTIVITY_SNAPSHOT)
    async def snapshot(self, data: SnapshotInput) -> SnapshotResult:
        """The conversation as stored, as condition facts (the workflow adds its clocks)."""

        def read() -> SnapshotResult:
            with self.sessions() as session:
                conversation = session.get(Conversation, data.conversation_id)
                if conversation is None:
                    return SnapshotResult(found=False)
                facts = build_facts(session, conversation, data.now, self.settings.public_url)
                return SnapshotResult(found=True, facts=facts)

        return await asyncio.to_thread(read)

    @activity.defn(name=ACTIVITY_RUN_ACTION)
    async def run_action(self, data: RunActionInput) -> RunActionResult:
        """Execute one action exactly once (per key); a retry returns the first outcome."""
        return (await self._act(data)).result

    async def _act(
        self,
        data: RunActionInput,
        clocks: ConversationState | None = None,
        record: RecordRunInput | None = None,
    ) -> _Acted:
        """:meth:`run_action`, writing ``clocks`` and the run ``record`` (to which this action
        is added) in the action's transaction if given."""
        acted = await asyncio.to_thread(self._run_action, data, clocks, record)
        if acted.outgoing is not None and acted.outgoing.rows and self.flush_signals:
            # In the background: the workflow does not wait for its own signal (it delivers a
            # queued message at once), and the relay retries whatever this misses.
            task = asyncio.create_task(self._send(acted.outgoing))
            self._flushing.add(task)
            task.add_done_callback(self._flushing.discard)
        return acted

    def _run_action(
        self,
        data: RunActionInput,
        clocks: ConversationState | None = None,
        record: RecordRunInput | None = None,
    ) -> _Acted:
        """The action in one transaction with its idempotency record (and ``clocks``, and the
        run ``record``), then the first attempt of any SMS it queued; with the signals it
        stored, to send after commit."""
        kind = actions.ACTIONS.get(data.kind)
        if kind is None:
            raise ApplicationError(f"unknown action {data.kind!r}", non_retryable=True)
        try:
            params = kind.params.model_validate(data.params)
        except ValidationError as exc:
            raise ApplicationError(
                f"bad parameters for {data.kind}: {exc}", non_retryable=True
            ) from exc
        claimed: list[tuple[int, OutboundSms]] = []
        with self.sessions() as session:
            if clocks is not None:
                write_clocks(session, clocks)
            done = session.scalar(select(RuleAction).where(RuleAction.key == data.key))
            if done is not None:
                session.commit()  # the clocks, if any
                log.info("action %s already ran (%s); not repeating it", data.key, done.status)
                return _Acted(RunActionResult(done.status, done.detail))
            conversation = session.get(Conversation, data.conversation_id)
            if conversation is None:
                return _Acted(RunActionResult("skipped", "the conversation no longer exists"))
            ctx = actions.ActionContext(
                session=session,
                conversation=conversation,
                rule=data.rule,
                key=data.key,
                now=data.now,
                load_facts=lambda only: build_facts(
                    session, conversation, data.now, self.settings.public_url, only
                ),
                secret_key=self.settings.secret_key,
                extra={"message.body": data.message_body},
            )
            try:
                detail = kind.execute(ctx, params)
                status = "done"
            except actions.ActionSkipped as exc:
                session.rollback()
                if clocks is not None:
                    write_clocks(session, clocks)
                status, detail = "skipped", str(exc)
            if status == "done" and self.delivery is not None:
                for message_id in ctx.queued_message_ids:
                    message = session.get_one(Message, message_id)
                    claimed.append((message_id, self.delivery.claim(message)))
            outgoing = take_outgoing(session, conversation_workflow_id(data.conversation_id))
            session.add(
                RuleAction(
                    key=data.key,
                    conversation_id=data.conversation_id,
                    rule=data.rule,
                    version=data.version,
                    kind=data.kind,
                    status=status,
                    detail=detail,
                )
            )
            recorded = False
            if record is not None:
                taken = ActionTaken(data.kind, status, detail)
                recorded = _add_run(
                    session, dataclasses.replace(record, actions=[*record.actions, taken])
                )
            try:
                session.commit()
            except IntegrityError:
                # Another attempt of the same action committed first: report what it did.
                session.rollback()
                done = session.scalar(select(RuleAction).where(RuleAction.key == data.key))
                if done is None:
                    raise
                return _Acted(RunActionResult(done.status, done.detail))
        result = RunActionResult(status, detail, ctx.queued_message_ids)
        result.delivered_ids = self._deliver_now(claimed)
        return _Acted(result, outgoing, recorded)

    def _deliver_now(self, claimed: list[tuple[int, OutboundSms]]) -> list[int]:
        """Hand each claimed message to the provider once; return those it took."""
        delivered: list[int] = []
        if not claimed:
            return delivered
        assert self.delivery is not None  # only set when there is a delivery to claim with
        for message_id, sms in claimed:
            try:
                self.delivery.send_claimed(sms, message_id)
            except Exception as exc:  # the workflow's delivery retries (or marks it failed)
                log.info("first delivery attempt of message %s failed: %s", message_id, exc)
            else:
                delivered.append(message_id)
        return delivered

    async def _send(self, outgoing: Outgoing) -> None:
        """Hand the signals an action stored to the workflow (in hand, or by flushing its
        outbox in order when an older one waits); the relay retries what this misses."""
        from inbox.temporal import TemporalConnector

        if self._relay is None:
            try:
                client = activity.client()
            except RuntimeError:
                return
            self._relay = Relay(self.sessions, TemporalConnector(self.settings, client))
        await self._relay.send(outgoing)

    @activity.defn(name=ACTIVITY_RECORD_RUN)
    async def record_run(self, data: RecordRunInput) -> None:
        """Store one rule run (once per conversation, rule and trigger key)."""

        def write() -> None:
            with self.sessions() as session:
                if not _add_run(session, data):
                    return
                try:
                    session.commit()
                except IntegrityError:
                    session.rollback()  # recorded by a concurrent attempt

        await asyncio.to_thread(write)


@dataclasses.dataclass
class _Acted:
    """What one action's step did: its result, the signals it stored (to send after commit),
    and whether it also stored the rule's run record."""

    result: RunActionResult
    outgoing: Outgoing | None = None
    recorded: bool = False


def _with_actions(
    record: RecordRunInput, requests: list[RunActionInput], results: list[RunActionResult]
) -> RecordRunInput:
    """``record`` with the actions taken so far (``results`` of the first ``requests``)."""
    taken = [
        ActionTaken(request.kind, result.status, result.detail)
        for request, result in zip(requests, results, strict=False)
    ]
    return dataclasses.replace(record, actions=taken)


def _add_run(session: Session, data: RecordRunInput) -> bool:
    """Add the run record to ``session`` unless it is stored already (one per conversation,
    rule and trigger key); True if added."""
    key = f"{data.conversation_id}:{data.rule}:{data.trigger_key}"
    if session.scalar(select(RuleRun.id).where(RuleRun.run_key == key)) is not None:
        return False
    session.add(
        RuleRun(
            run_key=key,
            rule=data.rule,
            version=data.version,
            conversation_id=data.conversation_id,
            trigger=data.trigger,
            trigger_key=data.trigger_key,
            outcome=data.outcome,
            reason=data.reason,
            actions=[asdict(taken) for taken in data.actions],
            triggered_at=data.triggered_at,
            evaluated_at=data.evaluated_at,
        )
    )
    return True
