"""Automation inside the conversation workflow (deterministic code only).

The conversation workflow owns one :class:`Automation` built on its state's ``AutomationState``
and calls it from two places of its main loop:

- after applying an event: ``await automation.react(triggers, event, state, clocks)``, which
  is the whole route of an event: one store step (write the clocks, read the rules the
  triggers select and, only when a rule evaluated now needs them, the stored facts), then for
  each rule in order: arm its wait, or evaluate it and run it;
- as a :class:`~workflows.timers.Timekeeper` of the rules' waits: when one falls due,
  ``fire_next`` re-reads the rule and re-checks its conditions as things are now.

Rules come from the store step (so an edited rule applies at the next trigger, and history shows
which version ran); conditions are evaluated here with the pure engine; a rule's actions and its
run record are one idempotent step (``automation_run_rule``), local unless an action waits on
another system (a webhook). What the actions did to this conversation (an automated reply's
``message_sent``, a close …) comes back in that step's result for the workflow to apply: the
workflow's own automation never signals it.

Nothing here lets a failure end the workflow: a step that fails for good (its retries spent
during a long outage, or refused) is logged, and a rule run is then recorded as ``failed`` with
the reason; the conversation goes on with its other rules and events.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, FailureError

with workflow.unsafe.imports_passed_through():
    from inbox.contracts import (
        ACTIVITY_OBSERVE,
        ACTIVITY_RUN_RULE,
        MESSAGE_TRIGGERS,
        SIGNAL_MESSAGE_HELD,
        ActionRequest,
        AutomationState,
        BusinessHours,
        ConversationEvent,
        ConversationState,
        ObserveInput,
        ObserveResult,
        PendingEvent,
        PendingWait,
        RuleContext,
        RuleSpec,
        RunOutcome,
        RunRecord,
        RunRuleInput,
        RunRuleResult,
    )
    from inbox.rules import engine
    from inbox.rules import hours as open_time

# Store steps wait out a database outage (nothing can be done without it), backing off to 30 s.
STORE_TIMEOUT = timedelta(seconds=30)
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=30)
)
# A rule's actions retry for up to an hour of outage, then the run is recorded as failed; one
# that waits on another system (a webhook) gives up after a few minutes, so a dead receiver does
# not hold up the conversation's events.
RULE_TIMEOUT = timedelta(seconds=60)
RULE_DEADLINE = timedelta(hours=1)
# About an hour of attempts (after 1, 2, 4, 8 and 16 s, every 30 s), counted in attempts as well
# as in time: a local step's deadline is measured on the worker's clock, its attempts are not.
RULE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=125,
)
REMOTE_RULE_RETRY = dataclasses.replace(RULE_RETRY, maximum_attempts=8)
# A local step's retries past this backoff wait on durable timers, not in the worker's memory:
# an outage's retries survive a worker restart (and time-skipping tests skip them).
LOCAL_RETRY_THRESHOLD = timedelta(seconds=1)
SEND_WINDOW = timedelta(hours=1)


def known_facts(conversation: ConversationState, body: str, automated: bool) -> dict[str, Any]:
    """The facts the workflow holds itself: its state and the triggering message."""
    return {**conversation.facts(), **engine.message_facts(body, automated)}


def _cause(error: FailureError) -> str:
    """What went wrong, in words: an activity's own error rather than its wrapper."""
    cause = error.cause if isinstance(error, ActivityError) and error.cause is not None else error
    return str(cause) or type(cause).__name__


class Automation:
    """Runs the rules of one conversation. All its memory is in ``state`` (carried across
    continue-as-new as ``ConversationState.automation``)."""

    def __init__(self, state: AutomationState, conversation_id: int) -> None:
        self.state = state
        self.conversation_id = conversation_id

    # -- timers ------------------------------------------------------------------------------

    def next_deadline(self) -> datetime | None:
        """When the earliest pending wait falls due (None when nothing waits)."""
        return min((wait.due_at for wait in self.state.waits), default=None)

    def describe_next(self) -> str:
        wait = min(self.state.waits, key=lambda wait: wait.due_at)
        return f"rule {wait.rule} (after {wait.trigger})"

    def _arm(
        self,
        rule: RuleSpec,
        trigger: str,
        event: ConversationEvent,
        now: datetime,
        hours: BusinessHours | None,
    ) -> None:
        assert rule.wait_seconds is not None
        # Measured from the cause, not the signal's arrival: a signal delayed by an outage
        # still fires on time (or at once, if its time has passed).
        start = min(event.at, now)
        due_at = self._due(rule, start, hours)
        replaced = any(wait.rule == rule.name for wait in self.state.waits)
        self.state.waits = [wait for wait in self.state.waits if wait.rule != rule.name]
        self.state.waits.append(
            PendingWait(
                rule=rule.name,
                trigger=trigger,
                trigger_key=event.key,
                armed_at=now,
                due_at=due_at,
                message_body=event.body,
                message_automated=event.automated,
                by_automation=event.by_automation,
            )
        )
        workflow.logger.info(
            "rule %s %s: wait %ss%s, due %s (trigger %s)",
            rule.name,
            "re-armed" if replaced else "armed",
            rule.wait_seconds,
            " of business hours" if rule.wait_business else "",
            due_at.isoformat(),
            event.key,
        )

    def _due(self, rule: RuleSpec, start: datetime, hours: BusinessHours | None) -> datetime:
        """When a wait armed at ``start`` falls due: ``wait_seconds`` later, or, for a business
        wait, once the inbox has been open that long (its hours as the store step read them, so
        a replay computes the same moment; a later change of hours does not move it)."""
        assert rule.wait_seconds is not None
        if not rule.wait_business:
            return start + timedelta(seconds=rule.wait_seconds)
        if hours is None:
            workflow.logger.warning(
                "rule %s: the inbox's hours could not be read; its business wait counts plain time",
                rule.name,
            )
            return start + timedelta(seconds=rule.wait_seconds)
        return open_time.add_open_time(
            hours.schedule, hours.timezone, start, rule.wait_seconds, hours.holidays
        )

    # -- entry points ------------------------------------------------------------------------

    async def react(
        self,
        triggers: list[str],
        event: ConversationEvent,
        conversation: ConversationState,
        clocks_changed: bool,
    ) -> list[PendingEvent]:
        """The route of one applied event: write its clocks (if they changed) and read what its
        triggers' rules need in one step, then arm each delayed rule and evaluate and run each
        immediate one, in order. Returns what the actions did to the conversation."""
        now = workflow.now()
        known = known_facts(conversation, event.body, event.automated)
        observed = await self.observe(
            ObserveInput(
                conversation_id=self.conversation_id,
                now=now,
                clocks=conversation.clocks if clocks_changed else None,
                triggers=triggers,
                known=known,
                sla=conversation.sla if clocks_changed else None,
                event_at=event.at,
            )
        )
        if observed is None:
            return []
        if observed.sla is not None:
            conversation.sla = observed.sla  # the deadlines the new clocks start, keep or end
        caused: list[PendingEvent] = []
        stored = observed.facts  # good until a rule acts
        hours = observed.hours  # likewise (a rule may move the conversation to another inbox)
        acted = False
        for trigger in triggers:
            if event.keyword and trigger in MESSAGE_TRIGGERS:
                continue  # STOP, START, HELP: the inbox answered it itself
            by_automation = event.by_automation or (trigger in MESSAGE_TRIGGERS and event.automated)
            for rule in observed.rules:
                if not engine.matches_trigger(rule, trigger, by_automation) or (
                    rule.run_once and rule.name in self.state.ran_once
                ):
                    continue
                if rule.wait_seconds:
                    if rule.wait_business and acted:
                        # Only the hours (no rule, no facts): the inbox it is in now.
                        again = await self.observe(
                            ObserveInput(self.conversation_id, now, hours=True)
                        )
                        hours = again.hours if again is not None else hours
                        acted = False
                    self._arm(rule, trigger, event, now, hours)
                    continue
                if stored is None and engine.needs_stored_facts(rule, known, now):
                    again = await self.observe(
                        ObserveInput(self.conversation_id, now, rule=rule.name, known=known)
                    )
                    stored = again.facts if again is not None else None
                    if stored is None:
                        continue
                facts = {**(stored or {}), **known}
                fired = await self._evaluate_and_run(
                    rule, trigger, event.key, facts, event.body, observed, event.at, caused
                )
                if fired:
                    stored = None  # its actions changed the conversation: read again if needed
                    acted = True
                    if rule.stop:
                        break
        return caused

    async def fire_next(self, conversation: ConversationState, now: datetime) -> list[PendingEvent]:
        """Fire the earliest wait (it is due), re-checking its rule and conditions as things are
        now. Returns what the actions did to the conversation."""
        wait = min(self.state.waits, key=lambda wait: (wait.due_at, wait.rule))
        self.state.waits.remove(wait)
        caused: list[PendingEvent] = []
        await self._fire(wait, conversation, now, caused)
        return caused

    # -- internals ---------------------------------------------------------------------------

    async def _fire(
        self,
        wait: PendingWait,
        conversation: ConversationState,
        now: datetime,
        caused: list[PendingEvent],
    ) -> None:
        known = known_facts(conversation, wait.message_body, wait.message_automated)
        observed = await self.observe(
            ObserveInput(self.conversation_id, now, rule=wait.rule, known=known)
        )
        if observed is None:
            return
        rule = observed.rules[0] if observed.rules else None
        reason = ""
        if rule is None:
            reason = "the rule no longer exists"
        elif not rule.enabled:
            reason = "the rule is disabled"
        elif wait.trigger not in rule.triggers:
            reason = f"the rule no longer reacts to {wait.trigger}"
        elif rule.run_once and rule.name in self.state.ran_once:
            reason = "run_once: it already ran on this conversation"
        if rule is None or reason:
            record = self._record(
                wait.rule,
                rule.version if rule else "",
                wait.trigger,
                wait.trigger_key,
                wait.armed_at,
                now,
                due_at=wait.due_at,
            )
            await self.run(RunRuleInput(_outcome(record, RunOutcome.SKIPPED, reason)))
            return
        facts = {**(observed.facts or {}), **known}
        await self._evaluate_and_run(
            rule,
            wait.trigger,
            wait.trigger_key,
            facts,
            wait.message_body,
            observed,
            wait.armed_at,
            caused,
            due_at=wait.due_at,
        )

    async def _evaluate_and_run(
        self,
        rule: RuleSpec,
        trigger: str,
        trigger_key: str,
        facts: dict[str, Any],
        message_body: str,
        observed: ObserveResult,
        triggered_at: datetime,
        caused: list[PendingEvent],
        *,
        due_at: datetime | None = None,
    ) -> bool:
        """Evaluate ``rule`` and run its actions if it holds (recording the run either way);
        True if it fired. What its actions did to the conversation is added to ``caused``."""
        now = workflow.now()
        record = self._record(
            rule.name, rule.version, trigger, trigger_key, triggered_at, now, due_at=due_at
        )
        verdict = engine.evaluate(rule.conditions, facts, now)
        skipped = "" if verdict.ok else verdict.reason
        if not skipped:
            skipped = self._over_send_cap(rule, observed.sends_per_hour, now)
        if skipped:
            await self.run(RunRuleInput(_outcome(record, RunOutcome.SKIPPED, skipped)))
            return False
        # The decision is made (and is in history): remember it before acting, so a retry or a
        # replay after a crash cannot decide differently.
        self.state.automated_sends.extend([now] * rule.sends)
        if rule.run_once:
            self.state.ran_once.append(rule.name)
        request = RunRuleInput(
            record=record,
            actions=[
                ActionRequest(
                    key=f"{self.conversation_id}:{rule.name}:{trigger_key}:{index}",
                    kind=str(action["kind"]),
                    params=dict(action.get("params") or {}),
                )
                for index, action in enumerate(rule.actions)
            ],
            message_body=message_body,
        )
        result = await self.run(request, remote=rule.remote)
        for caused_event in result.events:
            if caused_event.signal == SIGNAL_MESSAGE_HELD:
                # What its hold re-checks when it ends (workflows/consent.py).
                caused_event.event.cause = RuleContext(
                    rule.name, trigger, trigger_key, message_body, bool(facts["message.automated"])
                )
        caused.extend(result.events)
        return True

    async def why_not_now(
        self, cause: RuleContext, conversation: ConversationState, now: datetime
    ) -> str:
        """Why the rule that held a message would not send it now (it is gone, disabled, or
        its conditions no longer hold), or ``""``."""
        known = known_facts(conversation, cause.message_body, cause.message_automated)
        observed = await self.observe(
            ObserveInput(self.conversation_id, now, rule=cause.rule, known=known)
        )
        if observed is None:
            return "its rule could not be read"
        rule = observed.rules[0] if observed.rules else None
        if rule is None:
            return f"the rule {cause.rule} no longer exists"
        if not rule.enabled:
            return f"the rule {cause.rule} is disabled"
        verdict = engine.evaluate(rule.conditions, {**(observed.facts or {}), **known}, now)
        return "" if verdict.ok else f"the rule's conditions no longer hold: {verdict.reason}"

    def _over_send_cap(self, rule: RuleSpec, sends_per_hour: int, now: datetime) -> str:
        """Why ``rule`` may not send now (the per-conversation loop cap), or ``""``."""
        self.state.automated_sends = [
            at for at in self.state.automated_sends if now - at < SEND_WINDOW
        ]
        sent = len(self.state.automated_sends)
        if not rule.sends or sent + rule.sends <= sends_per_hour:
            return ""
        reason = (
            f"automated send cap reached: {sent} SMS sent by automation in the last hour "
            f"(limit {sends_per_hour})"
        )
        workflow.logger.warning(
            "rule %s skipped on conversation %s: %s", rule.name, self.conversation_id, reason
        )
        return reason

    async def run(self, request: RunRuleInput, remote: bool = False) -> RunRuleResult:
        """Run a rule's step; if it fails for good, record the run as failed with the reason
        (what its actions had done by then still comes back) and go on."""
        try:
            return await self._step(request, remote, RULE_RETRY)
        except FailureError as exc:
            # A local step that spent its retries surfaces as its own error, not wrapped.
            reason = f"the rule's step failed: {_cause(exc)}"
            workflow.logger.error(
                "rule %s on conversation %s: %s", request.record.rule, self.conversation_id, reason
            )
        failed = dataclasses.replace(
            request, record=_outcome(request.record, RunOutcome.FAILED, reason), failure=reason
        )
        try:
            return await self._step(failed, False, STORE_RETRY)
        except FailureError as exc:
            workflow.logger.error(
                "rule %s: its failure is not recorded: %s", failed.record.rule, exc
            )
            return RunRuleResult()

    async def _step(self, request: RunRuleInput, remote: bool, retry: RetryPolicy) -> RunRuleResult:
        """The ``automation_run_rule`` step: a regular activity when it waits on another system
        (a webhook), else a local one."""
        summary = request.record.rule + (
            f": {', '.join(action.kind for action in request.actions)}"
            if request.actions and not request.failure
            else f" {request.record.outcome}"
        )
        result: RunRuleResult
        if remote:
            result = await workflow.execute_activity(
                ACTIVITY_RUN_RULE,
                request,
                result_type=RunRuleResult,
                start_to_close_timeout=RULE_TIMEOUT,
                retry_policy=REMOTE_RULE_RETRY,
                summary=summary,
            )
        else:
            result = await workflow.execute_local_activity(
                ACTIVITY_RUN_RULE,
                request,
                result_type=RunRuleResult,
                start_to_close_timeout=RULE_TIMEOUT,
                schedule_to_close_timeout=RULE_DEADLINE,
                retry_policy=retry,
                local_retry_threshold=LOCAL_RETRY_THRESHOLD,
                summary=summary,
            )
        return result

    async def observe(self, request: ObserveInput) -> ObserveResult | None:
        """The store step (see :class:`ObserveInput`); None, logged, if it fails for good or
        the conversation is gone: the event's rules are then skipped."""
        try:
            result: ObserveResult = await workflow.execute_local_activity(
                ACTIVITY_OBSERVE,
                request,
                result_type=ObserveResult,
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
                local_retry_threshold=LOCAL_RETRY_THRESHOLD,
            )
        except FailureError as exc:
            workflow.logger.error(
                "conversation %s: store step failed, rules skipped: %s",
                self.conversation_id,
                _cause(exc),
            )
            return None
        if not result.found:
            workflow.logger.warning(
                "conversation %s not found; rules skipped", self.conversation_id
            )
            return None
        return result

    def _record(
        self,
        rule: str,
        version: str,
        trigger: str,
        trigger_key: str,
        triggered_at: datetime,
        now: datetime,
        *,
        due_at: datetime | None = None,
    ) -> RunRecord:
        """A fired run's record (its actions are added by the step that runs them); ``due_at``
        when a wait fired it."""
        return RunRecord(
            conversation_id=self.conversation_id,
            rule=rule,
            version=version,
            trigger=trigger,
            trigger_key=trigger_key,
            outcome=RunOutcome.FIRED,
            triggered_at=triggered_at,
            evaluated_at=now,
            due_at=due_at,
        )


def _outcome(record: RunRecord, outcome: RunOutcome, reason: str) -> RunRecord:
    return dataclasses.replace(record, outcome=outcome, reason=reason)
