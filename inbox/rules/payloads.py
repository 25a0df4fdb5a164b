"""Plain dataclasses that cross the workflow/activity boundary for automation.

Safe inside Temporal's workflow sandbox (dataclasses and datetimes only). Every field has a
default where it may be added later, so recorded histories keep decoding.
"""

# No ``from __future__ import annotations`` here: Temporal's converter reads these classes'
# type hints on every payload it decodes, and string annotations make it compile each one
# (measured: decoding a ConversationState took 424 us with them, 218 us without).
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ACTIVITY_LOAD_RULES = "automation_load_rules"
ACTIVITY_SNAPSHOT = "automation_snapshot"
ACTIVITY_RUN_ACTION = "automation_run_action"
ACTIVITY_RECORD_RUN = "automation_record_run"
# A rule's local actions and its run record in one step (see ``FireInput``).
ACTIVITY_FIRE = "automation_fire"

FIRED = "fired"
SKIPPED = "skipped"


@dataclass
class RuleSpec:
    """One validated rule as plain data: what the workflow needs to evaluate and act."""

    name: str
    version: str
    source: str
    triggers: list[str]
    conditions: list[Any] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    wait_seconds: int | None = None
    run_once: bool = False
    stop: bool = False
    include_automated: bool = False
    enabled: bool = True
    description: str = ""

    @property
    def sends(self) -> int:
        """How many SMS one run of this rule sends (for the per-conversation cap)."""
        return sum(1 for action in self.actions if action.get("kind") == "send_sms")


@dataclass
class LoadRulesInput:
    """Which rules to return: those with ``trigger``, or the one named ``rule`` (any trigger)."""

    trigger: str | None = None
    rule: str | None = None


@dataclass
class LoadRulesResult:
    rules: list[RuleSpec] = field(default_factory=list)
    # Automated SMS one conversation may send per hour before automation stops sending.
    sends_per_hour: int = 10
    problems: list[str] = field(default_factory=list)


@dataclass
class EventRules:
    """The rules in force for every trigger an event can fire, read where the event was stored
    (the inbound webhook) and carried in its signal, so the workflow reacts without a step of
    its own to read them. History records them with the signal, as it records a read's result.
    """

    # The triggers these rules were selected for: the workflow uses them only if they cover
    # every trigger the event fired.
    triggers: list[str] = field(default_factory=list)
    rules: LoadRulesResult = field(default_factory=LoadRulesResult)


@dataclass
class SnapshotInput:
    conversation_id: int
    now: datetime


@dataclass
class SnapshotResult:
    """Facts about the conversation as stored (JSON-safe values keyed by condition field)."""

    found: bool
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunActionInput:
    """One action of one rule run. ``key`` makes the action idempotent."""

    key: str
    conversation_id: int
    rule: str
    version: str
    trigger: str
    kind: str
    params: dict[str, Any]
    now: datetime
    message_body: str = ""


@dataclass
class RunActionResult:
    # "done", "skipped" (not possible now, with the reason) or "failed" (after retries).
    status: str
    detail: str = ""
    # Messages the action queued; those it could not hand to the provider itself are not in
    # ``delivered_ids``, and the workflow delivers them at once (with retries).
    message_ids: list[int] = field(default_factory=list)
    delivered_ids: list[int] = field(default_factory=list)


@dataclass
class ActionTaken:
    kind: str
    status: str
    detail: str = ""


@dataclass
class RecordRunInput:
    conversation_id: int
    rule: str
    version: str
    trigger: str
    trigger_key: str
    outcome: str
    reason: str = ""
    actions: list[ActionTaken] = field(default_factory=list)
    triggered_at: datetime | None = None
    evaluated_at: datetime | None = None


@dataclass
class FireInput:
    """Run ``actions`` in order (each idempotent by its key, in its own transaction), then store
    ``record`` with what they did: one step for a rule whose actions all run locally."""

    actions: list[RunActionInput]
    record: RecordRunInput


@dataclass
class FireResult:
    results: list[RunActionResult] = field(default_factory=list)


@dataclass
class PendingWait:
    """A delayed rule armed on this conversation; fires at ``due_at`` unless re-armed."""

    rule: str
    trigger: str
    trigger_key: str
    armed_at: datetime
    due_at: datetime
    # The triggering message, so ``message.*`` conditions and templates still refer to it.
    message_body: str = ""
    message_automated: bool = False
    by_automation: bool = False


@dataclass
class AutomationState:
    """What automation remembers per conversation; carried across continue-as-new."""

    waits: list[PendingWait] = field(default_factory=list)
    # Names of run_once rules that have fired on this conversation.
    ran_once: list[str] = field(default_factory=list)
    # When automation decided to send SMS, pruned to the last hour (for the loop cap).
    automated_sends: list[datetime] = field(default_factory=list)
