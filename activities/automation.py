"""The automation activity: run one rule's actions, in order, and store its run record.

Each action runs in one database transaction together with its idempotency record (keyed by
conversation, rule, trigger key and action index): a worker that crashes after acting and
retries finds the record and does not act twice, and the record keeps what the action did to
the conversation (the events its workflow applies), so a retry returns exactly what the first
attempt did. The webhook action is the one exception the transaction cannot cover (the other
side acts outside it); it sends an ``Idempotency-Key``.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from concurrent.futures import Executor
from dataclasses import asdict, replace

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.converter import value_to_type

from inbox import metrics
from inbox.contracts import (
    ACTIVITY_RUN_RULE,
    ActionRequest,
    ActionTaken,
    PendingEvent,
    RunRecord,
    RunRuleInput,
    RunRuleResult,
    as_utc,
    conversation_workflow_id,
)
from inbox.models import Conversation, RuleAction, RuleRun
from inbox.relay import signals_for_caller, to_json
from inbox.rules import actions
from inbox.rules.snapshot import build_facts
from inbox.settings import Settings

log = logging.getLogger(__name__)

DONE, SKIPPED, FAILED = "done", "skipped", "failed"


class AutomationActivities:
    """The automation activity, bound to a database and settings (one instance per worker).

    Rules whose actions only touch the database run on ``executor`` (the worker's database
    executor); a rule with an action that waits on another system runs on ``calls_executor``
    (beside the provider calls), so a slow receiver never holds up the database steps."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        *,
        executor: Executor | None = None,
        calls_executor: Executor | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self._executor = executor
        self._calls_executor = calls_executor

    @activity.defn(name=ACTIVITY_RUN_RULE)
    async def run_rule(self, request: RunRuleInput) -> RunRuleResult:
        """Run the rule's actions (each exactly once, per key) and store its run record; with
        ``failure`` set, act no more and record what was done and what failed."""
        remote = any(getattr(actions.ACTIONS.get(a.kind), "remote", False) for a in request.actions)
        executor = self._calls_executor if remote and not request.failure else self._executor
        loop = asyncio.get_running_loop()
        # In the activity's context (its info for the logs, its trace span).
        context = contextvars.copy_context()
        return await loop.run_in_executor(executor, context.run, self._run_rule, request)

    def _run_rule(self, request: RunRuleInput) -> RunRuleResult:
        result = RunRuleResult()
        recorded = False
        for index, action in enumerate(request.actions):
            # The run record goes in the last action's transaction (no commit of its own).
            last = index == len(request.actions) - 1
            record = replace(request.record, actions=result.actions) if last else None
            if request.failure:
                taken, events = self._recall(action, request.failure)
            else:
                taken, events, recorded = self._act(action, request, record)
            result.actions.append(taken)
            result.events.extend(events)
        if not recorded:
            recorded = self._record(replace(request.record, actions=result.actions))
        if recorded:
            _count_run(request.record, result)
        return result

    def _recall(
        self, action: ActionRequest, failure: str
    ) -> tuple[ActionTaken, list[PendingEvent]]:
        """What an action of a failed step did, if it ran; else it is recorded as failed."""
        with self.sessions() as session:
            done = session.scalar(select(RuleAction).where(RuleAction.key == action.key))
            if done is None:
                return ActionTaken(action.kind, FAILED, failure), []
            return _taken(done), _events(done)

    def _act(
        self, action: ActionRequest, request: RunRuleInput, record: RunRecord | None
    ) -> tuple[ActionTaken, list[PendingEvent], bool]:
        """One action in its transaction, with its idempotency record (and ``record``, with
        this action added, if given). Returns what it did, the events it caused in this
        conversation, and whether the run record was stored."""
        run = request.record
        kind = actions.ACTIONS.get(action.kind)
        try:
            if kind is None:
                raise actions.ActionFailed(f"unknown action {action.kind!r}")
            params = kind.params.model_validate(action.params)
        except (actions.ActionFailed, ValidationError) as exc:
            return ActionTaken(action.kind, FAILED, f"bad action: {exc}"), [], False
        with self.sessions() as session:
            done = session.scalar(select(RuleAction).where(RuleAction.key == action.key))
            if done is not None:
                log.info("action %s already ran (%s); not repeating it", action.key, done.status)
                return _taken(done), _events(done), False
            conversation = session.get(Conversation, run.conversation_id)
            if conversation is None:
                return (
                    ActionTaken(action.kind, SKIPPED, "the conversation no longer exists"),
                    [],
                    False,
                )
            assert run.evaluated_at is not None  # set by the workflow for every fired run
            ctx = actions.ActionContext(
                session=session,
                conversation=conversation,
                rule=run.rule,
                key=action.key,
                now=run.evaluated_at,
                load_facts=lambda only: build_facts(
                    session, conversation, ctx.now, self.settings.public_url, only
                ),
                secret_key=self.settings.secret_key,
                extra={"message.body": request.message_body},
            )
            # Signals for this conversation's own workflow come back as events, not signals.
            with signals_for_caller(session, conversation_workflow_id(conversation.id)) as caused:
                try:
                    status, detail = DONE, kind.execute(ctx, params)
                except actions.ActionSkipped as exc:
                    status, detail = SKIPPED, str(exc)
                except actions.ActionFailed as exc:
                    status, detail = FAILED, str(exc)
                if status != DONE:
                    session.rollback()
                    caused.clear()
            taken = ActionTaken(action.kind, status, detail)
            session.add(
                RuleAction(
                    key=action.key,
                    conversation_id=run.conversation_id,
                    rule=run.rule,
                    version=run.version,
                    kind=action.kind,
                    status=status,
                    detail=detail,
                    events=[to_json(event) for event in caused],
                )
            )
            recorded = record is not None and _add_run(
                session, replace(record, actions=[*record.actions, taken])
            )
            try:
                session.commit()
            except IntegrityError:
                # Another attempt of the same action committed first: report what it did.
                session.rollback()
                done = session.scalar(select(RuleAction).where(RuleAction.key == action.key))
                if done is None:
                    raise
                return _taken(done), _events(done), False
        return taken, list(caused), recorded

    def _record(self, record: RunRecord) -> bool:
        """Store one rule run (once per conversation, rule and trigger key); True if this call
        stored it."""
        with self.sessions() as session:
            if not _add_run(session, record):
                return False
            try:
                session.commit()
            except IntegrityError:
                session.rollback()  # recorded by a concurrent attempt
                return False
        return True


def _count_run(record: RunRecord, result: RunRuleResult) -> None:
    """The metrics of a run this attempt stored (a retry that finds it stored counts nothing):
    its outcome (``failed`` when any action failed), and a wait's lateness."""
    outcome = str(record.outcome)
    if any(taken.status == FAILED for taken in result.actions):
        outcome = FAILED
    metrics.RULE_RUNS.labels(record.rule, outcome).inc()
    if record.due_at is not None and record.evaluated_at is not None:
        late = (as_utc(record.evaluated_at) - as_utc(record.due_at)).total_seconds()
        metrics.WAIT_LATENESS.observe(max(0.0, late))


def _taken(done: RuleAction) -> ActionTaken:
    return ActionTaken(done.kind, done.status, done.detail)


def _events(done: RuleAction) -> list[PendingEvent]:
    events: list[PendingEvent] = value_to_type(list[PendingEvent], done.events or [])
    return events


def _add_run(session: Session, record: RunRecord) -> bool:
    """Add the run record to ``session`` unless it is stored already (one per conversation,
    rule and trigger key); True if added."""
    key = f"{record.conversation_id}:{record.rule}:{record.trigger_key}"
    if session.scalar(select(RuleRun.id).where(RuleRun.run_key == key)) is not None:
        return False
    session.add(
        RuleRun(
            run_key=key,
            rule=record.rule,
            version=record.version,
            conversation_id=record.conversation_id,
            trigger=record.trigger,
            trigger_key=record.trigger_key,
            outcome=record.outcome,
            reason=record.reason,
            actions=[asdict(taken) for taken in record.actions],
            triggered_at=record.triggered_at,
            evaluated_at=record.evaluated_at,
        )
    )
    return True
