"""The contract between the workflows, their activities and the code that signals them: Temporal
names, triggers, statuses and every payload dataclass.

Pure dataclasses and constants: safe to import inside the workflow sandbox. One dataclass in and
one out for every workflow, signal, query and activity, so fields can be added without breaking
recorded histories (give every new field a default).
"""

# No ``from __future__ import annotations`` here: Temporal's converter reads these classes'
# type hints on every payload it decodes, and string annotations make it compile each one
# (measured: decoding a ConversationState took 424 us with them, 218 us without).
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from temporalio.common import SearchAttributeKey

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


TASK_QUEUE = "inbox"
WORKFLOW_TYPE = "ConversationWorkflow"

# Custom search attributes (registered by `inbox dev`). No phone numbers or message text here:
# search attributes are stored unencrypted.
SA_STATUS = SearchAttributeKey.for_keyword("ConversationStatus")
SA_INBOX = SearchAttributeKey.for_int("ConversationInboxId")
SA_ASSIGNEE = SearchAttributeKey.for_int("ConversationAssigneeId")
SA_LAST_INBOUND = SearchAttributeKey.for_datetime("ConversationLastInboundAt")
SEARCH_ATTRIBUTES: dict[str, str] = {
    SA_STATUS.name: "Keyword",
    SA_INBOX.name: "Int",
    SA_ASSIGNEE.name: "Int",
    SA_LAST_INBOUND.name: "Datetime",
}

# Signal names, as sent by the API and the outbox relay.
SIGNAL_MESSAGE_RECEIVED = "message_received"
SIGNAL_MESSAGE_SENT = "message_sent"
SIGNAL_CLOSED = "closed"
SIGNAL_REOPENED = "reopened"
SIGNAL_ASSIGNED = "assigned"
SIGNAL_MOVED = "moved"
# Spam ends a conversation for its clocks without resolving it: no time to close, no rules.
SIGNAL_MARKED_SPAM = "marked_spam"
# Back from spam to closed (back to open is ``reopened``).
SIGNAL_MARKED_NOT_SPAM = "marked_not_spam"
SIGNAL_NAMES = (
    SIGNAL_MESSAGE_RECEIVED,
    SIGNAL_MESSAGE_SENT,
    SIGNAL_CLOSED,
    SIGNAL_REOPENED,
    SIGNAL_ASSIGNED,
    SIGNAL_MOVED,
    SIGNAL_MARKED_SPAM,
    SIGNAL_MARKED_NOT_SPAM,
)

# Trigger names (as rules name them) that are not signal names.
TRIGGER_OPENED = "opened"
# Every trigger a signal can fire (``workflows.conversation.apply_event``), for code that
# attaches the rules those triggers select to the signal (``ConversationEvent.rules``).
SIGNAL_TRIGGERS: dict[str, tuple[str, ...]] = {
    SIGNAL_MESSAGE_RECEIVED: (TRIGGER_OPENED, SIGNAL_REOPENED, SIGNAL_MESSAGE_RECEIVED),
}


# Activity names, so workflows and tests refer to them without importing their implementations.
ACTIVITY_LOAD_STATE = "load_conversation_state"
ACTIVITY_RECORD_CLOCKS = "record_conversation_clocks"
# One step per event: record the clocks, read the rules the event's triggers name and, when one
# of them would be evaluated at once, the conversation's facts (replaces the three steps above).
ACTIVITY_OBSERVE = "observe_conversation"
# Workflow patch id of the one-step-per-event path (histories recorded before it replay the old).
PATCH_FEWER_STEPS = "fewer-steps-per-event"
# Workflow patch id of reacting with the rules a signal carries: the clocks are written with the
# first rule's actions, so an immediate auto-reply is one step.
PATCH_RULES_IN_EVENT = "rules-in-event"
# A signal's rules are used only this soon after its event was stored; a signal the relay
# delivers later (after a Temporal outage) may carry rules edited since, so they are re-read.
EVENT_RULES_FRESH_SECONDS = 10
ACTIVITY_DELIVER_MESSAGE = "deliver_message"
ACTIVITY_MARK_MESSAGE_FAILED = "mark_message_failed"

# A one-off SMS to a contact, outside any conversation, is delivered by its own short workflow.
SEND_MESSAGE_WORKFLOW_TYPE = "SendMessageWorkflow"
SIGNAL_SEND = "send"


def as_utc(at: datetime) -> datetime:
    """Event times are UTC; a naive one (from a caller that forgot the zone) is read as UTC."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def message_workflow_id(message_id: int) -> str:
    """The workflow id that delivers a one-off message: ``message-<id>``."""
    return f"message-{message_id}"


def conversation_workflow_id(conversation_id: int) -> str:
    """The workflow id of a conversation: ``conversation-<id>``."""
    return f"conversation-{conversation_id}"


@dataclass
class ConversationEvent:
    """The payload of every conversation signal.

    ``key`` is unique per cause (``msg-<id>``, ``close-<event id>`` …): the workflow ignores a key
    it has already seen, so the outbox relay may deliver a signal twice without harm. ``at`` is
    when the cause happened (the message row's time), not when the signal arrived: a signal
    delayed by a Temporal outage still gives exact clocks.
    """

    key: str
    at: datetime
    message_id: int | None = None
    automated: bool = False
    author_id: int | None = None
    inbox_id: int | None = None
    assignee_id: int | None = None
    # True when the cause was an automation action (an automated close, assign …).
    by_automation: bool = False
    body: str = ""
    # The rules the event's triggers select, when whoever stored the event attached them.
    rules: EventRules | None = None


@dataclass
class ConversationState:
    """Everything the workflow knows about its conversation; carried across continue-as-new."""

    conversation_id: int
    status: str = "open"
    inbox_id: int | None = None
    channel_id: int | None = None
    assignee_id: int | None = None
    opened_at: datetime | None = None
    first_inbound_at: datetime | None = None
    first_response_at: datetime | None = None
    last_inbound_at: datetime | None = None
    last_outbound_at: datetime | None = None
    closed_at: datetime | None = None
    time_to_first_response_seconds: int | None = None
    time_to_close_seconds: int | None = None
    # Direction of the last message, automated ones aside: "inbound" means the contact awaits
    # a reply from a person (an auto-reply does not answer them).
    last_direction: str | None = None
    messages_received: int = 0
    messages_sent: int = 0
    # Messages the counts above already include whose events may still come (the load counts
    # the stored rows, and the message that starts a workflow is stored before its signal):
    # applying one of these events must not count it twice.
    counted_message_ids: list[int] = field(default_factory=list)
    # Keys of recently handled events (bounded), for de-duplication.
    seen_keys: list[str] = field(default_factory=list)
    # Pending rule waits, run_once marks and the loop cap's window (workflows/automation.py).
    automation: AutomationState = field(default_factory=AutomationState)


@dataclass
class PendingEvent:
    signal: str
    event: ConversationEvent


@dataclass
class ConversationInput:
    """Workflow input. ``state`` is None on a fresh start (the workflow loads the stored row)
    and set on continue-as-new; ``pending`` carries signals not yet processed."""

    conversation_id: int
    state: ConversationState | None = None
    pending: list[PendingEvent] = field(default_factory=list)
    # A closed conversation's workflow finishes after this long with no new event.
    quiet_period_seconds: float = 7 * 24 * 3600
    # How long a message's delivery keeps retrying before it is marked failed.
    delivery_timeout_seconds: float = 3600
    # Continue-as-new after this many events even if the server has not suggested it yet.
    max_events_per_run: int = 1000


@dataclass
class LoadStateInput:
    conversation_id: int


@dataclass
class RecordClocksInput:
    state: ConversationState


@dataclass
class ObserveInput:
    """What one event needs from the store: write ``clocks`` (when they changed), then return
    the enabled rules with any of ``triggers`` (or the rule named ``rule``, enabled or not), and
    the conversation's facts if one of those rules would be evaluated now (no ``wait``, or a
    named rule whose wait fell due) and its conditions read more than ``known``."""

    conversation_id: int
    now: datetime
    clocks: ConversationState | None = None
    triggers: list[str] = field(default_factory=list)
    rule: str | None = None
    # Facts the workflow holds itself (its clocks, the message): rules whose conditions read
    # nothing else need no facts from the database.
    known: dict[str, Any] = field(default_factory=dict)


@dataclass
class ObserveResult:
    rules: LoadRulesResult = field(default_factory=LoadRulesResult)
    # None when no returned rule needed facts.
    snapshot: SnapshotResult | None = None


@dataclass
class FireEventInput(FireInput):
    """``FireInput`` for a rule fired by an event whose clocks were not written yet: the
    activity writes ``clocks`` first (as ``observe_conversation`` would have)."""

    clocks: ConversationState | None = None


@dataclass
class SendMessageInput:
    """Input of ``SendMessageWorkflow`` (and payload of its ``send`` signal)."""

    message_id: int
    delivery_timeout_seconds: float = 3600


@dataclass
class DeliverMessageInput:
    message_id: int


@dataclass
class DeliverMessageResult:
    status: str
    provider_message_id: str | None = None


@dataclass
class MarkFailedInput:
    message_id: int
    reason: str
    code: str | None = None
