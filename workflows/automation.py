"""Automation inside the conversation workflow (deterministic code only).

The conversation workflow owns one :class:`Automation` built on its state's
``AutomationState`` and calls it from one place in its main loop:

- after applying a signal that yields a trigger: ``await automation.on_trigger(trigger, event,
  state)``;
- when waiting for the next signal: ``timeout=automation.timeout()`` (a durable timer for the
  earliest pending ``wait``), then ``await automation.run_due(state)``.

Rules come from an activity (so an edited rule applies at the next trigger, and history shows
which version ran), conditions are evaluated here with the pure engine, actions run as
idempotent activities, and every evaluation is recorded.

Reading rules and facts, database actions and the run record are *local* activities: they run
in the worker inside the workflow task (recorded in history as markers), so an auto-reply costs
one workflow task, not a server round trip per step. Only the webhook action, which waits on
another system, is a regular activity. A message an action queues gets its first delivery
attempt inside the action; the workflow hears of it at once (``on_message``) and delivers what
that attempt did not, instead of waiting for the ``message_sent`` signal to come back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from inbox.contracts import (
        ACTIVITY_FIRE,
        ACTIVITY_LOAD_RULES,
        ACTIVITY_OBSERVE,
        ACTIVITY_RECORD_RUN,
        ACTIVITY_RUN_ACTION,
        ACTIVITY_SNAPSHOT,
        EVENT_RULES_FRESH_SECONDS,
        FIRED,
        PATCH_FEWER_STEPS,
        PATCH_RULES_IN_EVENT,
        SKIPPED,
        ActionTaken,
        AutomationState,
        ConversationEvent,
        ConversationState,
        FireEventInput,
        FireResult,
        LoadRulesInput,
        LoadRulesResult,
        ObserveInput,
        ObserveResult,
        PendingWait,
        RecordRunInput,
        RuleSpec,
        RunActionInput,
        RunActionResult,
        SnapshotInput,
        SnapshotResult,
        as_utc,
    )
    from inbox.rules import engine

READ_TIMEOUT = timedelta(seconds=30)
READ_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=20)
# The per-event step writes the clocks: it must not give up (a database outage only delays it).
OBSERVE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=30)
)
# Actions retry for a few minutes (a provider or webhook outage), then are recorded as failed so
# the conversation keeps going.
ACTION_TIMEOUT = timedelta(seconds=60)
ACTION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=8,
)
SEND_WINDOW = timedelta(hours=1)
# Actions that wait on another system run as regular activities (see the module docstring).
REMOTE_ACTIONS = frozenset({"webhook"})


def known_facts(conversation: ConversationState, body: str, automated: bool) -> dict[str, object]:
    """The facts the workflow holds itself: its clocks and the triggering message."""
    return engine.merge_facts(
        engine.state_facts(conversation), engine.message_facts(body, automated)
    )


class Automation:
    """Runs the rules of one conversation. All its memory is in ``state`` (carried across
    continue-as-new as ``ConversationState.automation``)."""

    def __init__(
        self,
        state: AutomationState,
        conversation_id: int,
        on_message: Callable[[int, bool], None] | None = None,
    ) -> None:
        self.state = state
        self.conversation_id = conversation_id
        # Called with the id of each message an action queued, and whether the action already
        # handed it to the provider (if not, the workflow delivers it).
        self.on_message = on_message
        # Clocks an event changed, not written yet: the event's first rule step writes them
        # (see :meth:`carried`), or :meth:`write_pending_clocks` does when no rule acts.
        self.pending_clocks: ConversationState | None = None

    # -- timers ------------------------------------------------------------------------------

    def next_deadline(self) -> datetime | None:
        """When the earliest pending wait falls due (None when nothing waits)."""
        return min((wait.due_at for wait in self.state.waits), default=None)

    def timeout(self) -> timedelta | None:
        """How long the main loop may sleep before :meth:`run_due` has work (None: forever)."""
        deadline = self.next_deadline()
        if deadline is None:
            return None
        return max(deadline - workflow.now(), timedelta(0))

    def _arm(self, rule: RuleSpec, trigger: str, event: ConversationEvent, now: datetime) -> None:
        assert rule.wait_seconds is not None
        # Measured from the cause, not the signal's arrival: a signal delayed by an outage
        # still fires on time (or at once, if its time has passed).
        start = min(event.at, now)
        replaced = [wait for wait in self.state.waits if wait.rule == rule.name]
        self.state.waits = [wait for wait in self.state.waits if wait.rule != rule.name]
        self.state.waits.append(
            PendingWait(
                rule=rule.name,
                trigger=trigger,
                trigger_key=event.key,
                armed_at=now,
                due_at=start + timedelta(seconds=rule.wait_seconds),
                message_body=event.body,
                message_automated=event.automated,
                by_automation=event.by_automation,
            )
        )
        workflow.logger.info(
            "rule %s %s: wait %ss (trigger %s)",
            rule.name,
            "re-armed" if replaced else "armed",
            rule.wait_seconds,
            event.key,
        )

    # -- entry points ------------------------------------------------------------------------

    async def observe(
        self,
        triggers: list[str],
        clocks: ConversationState | None,
        known: dict[str, object],
        rule: str | None = None,
    ) -> ObserveResult:
        """The one store step of an event (or of a wait falling due): write ``clocks`` if
        given, read the rules, and the facts when a rule evaluated at once reads more than the
        ``known`` facts."""
        result: ObserveResult = await workflow.execute_local_activity(
            ACTIVITY_OBSERVE,
            ObserveInput(
                conversation_id=self.conversation_id,
                now=workflow.now(),
                clocks=clocks,
                triggers=triggers,
                rule=rule,
                known=known,
            ),
            result_type=ObserveResult,
            start_to_close_timeout=READ_TIMEOUT,
            retry_policy=OBSERVE_RETRY,
        )
        return result

    def carried(
        self, triggers: list[str], event: ConversationEvent, known: dict[str, object]
    ) -> ObserveResult | None:
        """The rules ``event``'s signal carries, in place of :meth:`observe`'s read, or None
        when they cannot stand in for it: none carried, not covering every trigger, carried
        too long ago (a rule may have changed since), or a rule to evaluate now that needs the
        conversation's facts (``observe`` reads them with the rules). Deterministic: it reads
        only the event and the workflow's clock."""
        carried = event.rules
        if carried is None or not set(triggers) <= set(carried.triggers):
            return None
        now = workflow.now()
        if now - as_utc(event.at) > timedelta(seconds=EVENT_RULES_FRESH_SECONDS):
            return None
        if any(
            not rule.wait_seconds and engine.needs_stored_facts(rule, known, now)
            for rule in carried.rules.rules
            if set(rule.triggers).intersection(triggers)
        ):
            return None
        if not workflow.patched(PATCH_RULES_IN_EVENT):
            return None
        return ObserveResult(rules=carried.rules)

    async def write_pending_clocks(self) -> None:
        """Write the clocks no rule step took (one ``observe`` step, reading no rules)."""
        if self.pending_clocks is not None:
            clocks, self.pending_clocks = self.pending_clocks, None
            await self.observe([], clocks, {})

    async def on_event(
        self,
        triggers: list[str],
        event: ConversationEvent,
        conversation: ConversationState,
        observed: ObserveResult,
        known: dict[str, object],
    ) -> None:
        """React to an event's triggers, in order, with the rules :meth:`observe` read once for
        all of them (``known``: the facts the workflow holds, as given to it): arm delayed
        rules, evaluate and run immediate ones."""
        now = workflow.now()
        snapshot = observed.snapshot
        facts: dict[str, object] | None = None
        for trigger in triggers:
            caused_by_automation = event.by_automation or (
                trigger in engine.MESSAGE_TRIGGERS and event.automated
            )
            candidates = [
                rule
                for rule in observed.rules.rules
                if engine.matches_trigger(rule, trigger, caused_by_automation)
                and not (rule.run_once and rule.name in self.state.ran_once)
            ]
            for rule in candidates:
                if rule.wait_seconds:
                    self._arm(rule, trigger, event, now)
                    continue
                rule_facts = known
                if engine.needs_stored_facts(rule, known, now):
                    if facts is None:
                        if snapshot is not None:  # read with the rules; good until a rule acts
                            facts = self._merge(snapshot, conversation, event.body, event.automated)
                            snapshot = None
                        else:
                            facts = await self._facts(
                                conversation, event.body, event.automated, now
                            )
                        if facts is None:
                            return
                    rule_facts = facts
                fired = await self._decide_and_act(
                    rule,
                    trigger,
                    event.key,
                    rule_facts,
                    event.body,
                    observed.rules.sends_per_hour,
                    event.at,
                    now,
                )
                if fired:
                    facts = None  # its actions changed the conversation: re-read before the next
                    if rule.stop:
                        break

    async def on_trigger(
        self, trigger: str, event: ConversationEvent, conversation: ConversationState
    ) -> None:
        """React to one trigger: arm delayed rules, evaluate and run immediate ones."""
        now = workflow.now()
        caused_by_automation = event.by_automation or (
            trigger in engine.MESSAGE_TRIGGERS and event.automated
        )
        loaded = await self._load(LoadRulesInput(trigger=trigger))
        candidates = [
            rule
            for rule in loaded.rules
            if engine.matches_trigger(rule, trigger, caused_by_automation)
            and not (rule.run_once and rule.name in self.state.ran_once)
        ]
        facts: dict[str, object] | None = None
        for rule in candidates:
            if rule.wait_seconds:
                self._arm(rule, trigger, event, now)
                continue
            if facts is None:
                facts = await self._facts(conversation, event.body, event.automated, now)
                if facts is None:
                    return
            fired = await self._decide_and_act(
                rule, trigger, event.key, facts, event.body, loaded.sends_per_hour, event.at, now
            )
            if fired:
                facts = None  # its actions changed the conversation: re-read before the next
                if rule.stop:
                    break

    async def run_due(self, conversation: ConversationState) -> None:
        """Fire every wait that has fallen due, re-checking conditions as things are now."""
        while True:
            now = workflow.now()
            due = sorted(
                (wait for wait in self.state.waits if wait.due_at <= now),
                key=lambda wait: (wait.due_at, wait.rule),
            )
            if not due:
                return
            wait = due[0]
            self.state.waits.remove(wait)
            await self._fire(wait, conversation, now)

    # -- internals ---------------------------------------------------------------------------

    async def _fire(
        self, wait: PendingWait, conversation: ConversationState, now: datetime
    ) -> None:
        snapshot: SnapshotResult | None = None
        known = known_facts(conversation, wait.message_body, wait.message_automated)
        fewer = workflow.patched(PATCH_FEWER_STEPS)
        if fewer:
            observed = await self.observe([], None, known, rule=wait.rule)
            loaded, snapshot = observed.rules, observed.snapshot
        else:
            loaded = await self._load(LoadRulesInput(rule=wait.rule))
        rule = loaded.rules[0] if loaded.rules else None
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
            await self._record(
                self._run_record(
                    wait.rule,
                    rule.version if rule else "",
                    wait.trigger,
                    wait.trigger_key,
                    wait.armed_at,
                    now,
                    skipped=reason,
                )
            )
            return
        facts: dict[str, object] | None
        if fewer and not engine.needs_stored_facts(rule, known, now):
            facts = known
        elif snapshot is not None:
            facts = self._merge(snapshot, conversation, wait.message_body, wait.message_automated)
        else:
            facts = await self._facts(conversation, wait.message_body, wait.message_automated, now)
        if facts is None:
            return
        await self._decide_and_act(
            rule,
            wait.trigger,
            wait.trigger_key,
            facts,
            wait.message_body,
            loaded.sends_per_hour,
            wait.armed_at,
            now,
        )

    async def _decide_and_act(
        self,
        rule: RuleSpec,
        trigger: str,
        trigger_key: str,
        facts: dict[str, object],
        message_body: str,
        sends_per_hour: int,
        triggered_at: datetime,
        now: datetime,
    ) -> bool:
        verdict = engine.evaluate(rule.conditions, facts, now)
        skipped = verdict.reason if not verdict.ok else ""
        if not skipped:
            self.state.automated_sends = [
                at for at in self.state.automated_sends if now - at < SEND_WINDOW
            ]
            if rule.sends and len(self.state.automated_sends) + rule.sends > sends_per_hour:
                skipped = (
                    f"automated send cap reached: {len(self.state.automated_sends)} SMS sent by "
                    f"automation in the last hour (limit {sends_per_hour})"
                )
                workflow.logger.warning(
                    "rule %s skipped on conversation %s: %s",
                    rule.name,
                    self.conversation_id,
                    skipped,
                )
        if skipped:
            await self.write_pending_clocks()
            await self._record(
                self._run_record(
                    rule.name, rule.version, trigger, trigger_key, triggered_at, now, skipped
                )
            )
            return False
        # The decision is made (and is in history): remember it before acting, so a retry or a
        # replay after a crash cannot decide differently.
        self.state.automated_sends.extend([now] * rule.sends)
        if rule.run_once:
            self.state.ran_once.append(rule.name)
        requests = [
            RunActionInput(
                key=f"{self.conversation_id}:{rule.name}:{trigger_key}:{index}",
                conversation_id=self.conversation_id,
                rule=rule.name,
                version=rule.version,
                trigger=trigger,
                kind=str(action["kind"]),
                params=dict(action.get("params") or {}),
                now=now,
                message_body=message_body,
            )
            for index, action in enumerate(rule.actions)
        ]
        local = not any(request.kind in REMOTE_ACTIONS for request in requests)
        record = self._run_record(rule.name, rule.version, trigger, trigger_key, triggered_at, now)
        if (
            local
            and workflow.patched(PATCH_FEWER_STEPS)
            and await self._fire_at_once(requests, record, rule.name)
        ):
            return True
        await self.write_pending_clocks()
        taken: list[ActionTaken] = []
        for request in requests:
            kind = request.kind
            try:
                result = await self._run_action(request, f"{rule.name}: {kind}")
            except ActivityError as exc:
                cause = exc.cause if exc.cause is not None else exc
                workflow.logger.error("rule %s action %s failed: %s", rule.name, kind, cause)
                result = RunActionResult("failed", str(cause))
            if self.on_message is not None:
                for message_id in result.message_ids:
                    self.on_message(message_id, message_id in result.delivered_ids)
            taken.append(ActionTaken(kind, result.status, result.detail))
        await self._record(dataclasses.replace(record, actions=taken))
        return True

    async def _fire_at_once(
        self, requests: list[RunActionInput], record: RecordRunInput, rule: str
    ) -> bool:
        """Run local actions and store the run record in one step. False if that step failed
        for good: the caller then runs the actions one by one (each finds its idempotency
        record, so what was done is not done again) and records each failure."""
        try:
            fired: FireResult = await workflow.execute_local_activity(
                ACTIVITY_FIRE,
                FireEventInput(actions=requests, record=record, clocks=self.pending_clocks),
                result_type=FireResult,
                start_to_close_timeout=ACTION_TIMEOUT,
                retry_policy=ACTION_RETRY,
                summary=f"{rule}: " + ", ".join(request.kind for request in requests),
            )
        except ActivityError as exc:
            workflow.logger.error("rule %s: actions failed, retrying one by one: %s", rule, exc)
            return False
        self.pending_clocks = None  # written by that step
        if self.on_message is not None:
            for result in fired.results:
                for message_id in result.message_ids:
                    self.on_message(message_id, message_id in result.delivered_ids)
        return True

    async def _run_action(self, request: RunActionInput, summary: str) -> RunActionResult:
        result: RunActionResult
        if request.kind in REMOTE_ACTIONS:
            result = await workflow.execute_activity(
                ACTIVITY_RUN_ACTION,
                request,
                result_type=RunActionResult,
                start_to_close_timeout=ACTION_TIMEOUT,
                retry_policy=ACTION_RETRY,
                summary=summary,
            )
        else:
            result = await workflow.execute_local_activity(
                ACTIVITY_RUN_ACTION,
                request,
                result_type=RunActionResult,
                start_to_close_timeout=ACTION_TIMEOUT,
                retry_policy=ACTION_RETRY,
                summary=summary,
            )
        return result

    async def _load(self, query: LoadRulesInput) -> LoadRulesResult:
        result: LoadRulesResult = await workflow.execute_local_activity(
            ACTIVITY_LOAD_RULES,
            query,
            result_type=LoadRulesResult,
            start_to_close_timeout=READ_TIMEOUT,
            retry_policy=READ_RETRY,
        )
        return result

    async def _facts(
        self, conversation: ConversationState, body: str, automated: bool, now: datetime
    ) -> dict[str, object] | None:
        snapshot = await workflow.execute_local_activity(
            ACTIVITY_SNAPSHOT,
            SnapshotInput(conversation_id=self.conversation_id, now=now),
            result_type=SnapshotResult,
            start_to_close_timeout=READ_TIMEOUT,
            retry_policy=READ_RETRY,
        )
        return self._merge(snapshot, conversation, body, automated)

    def _merge(
        self, snapshot: SnapshotResult, conversation: ConversationState, body: str, automated: bool
    ) -> dict[str, object] | None:
        if not snapshot.found:
            workflow.logger.warning(
                "conversation %s not found; rules skipped", self.conversation_id
            )
            return None
        return engine.merge_facts(
            snapshot.facts, engine.state_facts(conversation), engine.message_facts(body, automated)
        )

    def _run_record(
        self,
        rule: str,
        version: str,
        trigger: str,
        trigger_key: str,
        triggered_at: datetime,
        now: datetime,
        skipped: str = "",
    ) -> RecordRunInput:
        """A run record: fired (its actions are added when known), or skipped for a reason."""
        return RecordRunInput(
            conversation_id=self.conversation_id,
            rule=rule,
            version=version,
            trigger=trigger,
            trigger_key=trigger_key,
            outcome=SKIPPED if skipped else FIRED,
            reason=skipped,
            triggered_at=triggered_at,
            evaluated_at=now,
        )

    async def _record(self, record: RecordRunInput) -> None:
        await workflow.execute_local_activity(
            ACTIVITY_RECORD_RUN,
            record,
            start_to_close_timeout=READ_TIMEOUT,
            retry_policy=READ_RETRY,
            summary=f"{record.rule} {record.outcome}"
            + (f": {record.reason}" if record.reason else ""),
        )
