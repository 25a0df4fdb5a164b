"""The contract between the workflows, their activities and the code that signals them: Temporal
names, triggers, statuses and every payload dataclass.

The bottom of the import graph: ``workflows/``, ``activities/`` and the domain (``inbox/``) import
it, it imports nothing of theirs. Pure dataclasses, enums and constants, so it is safe inside the
workflow sandbox. One dataclass in and one out for every workflow, signal, query and activity;
give every new field a default, so recorded histories keep decoding.
"""

# No ``from __future__ import annotations`` here: Temporal's converter reads these classes'
# type hints on every payload it decodes, and string annotations make it compile each one
# (measured: decoding a ConversationState took 424 us with them, 218 us without).
import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from temporalio.common import SearchAttributeKey

# --- Temporal names -------------------------------------------------------------------------

TASK_QUEUE = "inbox"
WORKFLOW_TYPE = "ConversationWorkflow"
# A one-off SMS to a contact, outside any conversation, is delivered by its own short workflow.
SEND_MESSAGE_WORKFLOW_TYPE = "SendMessageWorkflow"

# Custom search attributes (registered by `inbox dev` and `inbox temporal-setup`). No phone
# numbers or message text here: search attributes are stored unencrypted.
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

# Signals of ``ConversationWorkflow``, each taking a ``ConversationEvent``.
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
# An outbound message was stored held until ``held_until`` (quiet hours, or sent later).
SIGNAL_MESSAGE_HELD = "message_held"
# A held message (``message_id``) was cancelled: by a person, or by the number's opt-out.
SIGNAL_HOLD_CANCELLED = "hold_cancelled"
# A person decided a possible opt-out (recorded it, or dismissed it): no reminder is due.
SIGNAL_OPT_OUT_DECIDED = "opt_out_decided"
# An agent snoozed the conversation until ``snoozed_until`` (``SNOOZE_UNTIL_REPLY``: until the
# contact writes); ``unsnoozed``: the snooze ended early (by hand, or the contact wrote).
SIGNAL_SNOOZED = "snoozed"
# "Until the contact replies" is stored as this far-future time: one nullable column says both
# whether and until when a conversation is snoozed, and every "is it snoozed" query is the same.
SNOOZE_UNTIL_REPLY = datetime(9999, 12, 31, tzinfo=UTC)
SIGNAL_UNSNOOZED = "unsnoozed"
# The signal (and input) of ``SendMessageWorkflow``.
SIGNAL_SEND = "send"
# Not a signal anyone sends: the event an SLA deadline raises inside the workflow when it is at
# risk or breached (``workflows/sla.py``), applied on the same route as every signal.
EVENT_SLA = "sla"

# Activities, so workflows and tests name them without importing their implementations.
# A held message's hold ends: sent (queued for delivery), held again, or cancelled.
ACTIVITY_RELEASE_HELD = "release_held_message"
ACTIVITY_LOAD_STATE = "load_conversation_state"
# A snooze's time came: the conversation comes back, unread for its assignee.
ACTIVITY_WAKE_SNOOZED = "wake_snoozed_conversation"
# The store step of an event: write the clocks, read the rules its triggers select (and the
# stored facts when a rule evaluated now needs them).
ACTIVITY_OBSERVE = "observe_conversation"
# One rule's actions and its run record, in order, each action exactly once.
ACTIVITY_RUN_RULE = "automation_run_rule"
ACTIVITY_DELIVER_MESSAGE = "deliver_message"
# An SLA deadline is at risk or breached: the timeline, the notifications, the row's badge.
ACTIVITY_SLA_ALERT = "sla_alert"
ACTIVITY_MARK_MESSAGE_FAILED = "mark_message_failed"


def conversation_workflow_id(conversation_id: int) -> str:
    """The workflow id of a conversation: ``conversation-<id>``."""
    return f"conversation-{conversation_id}"


def message_workflow_id(message_id: int) -> str:
    """The workflow id that delivers a one-off message: ``message-<id>``."""
    return f"message-{message_id}"


# --- triggers and statuses ------------------------------------------------------------------

# What rules react to (``trigger:`` in a rule). Message and lifecycle signals double as triggers.
TRIGGER_OPENED = "opened"
TRIGGER_MESSAGE_RECEIVED = SIGNAL_MESSAGE_RECEIVED
TRIGGER_MESSAGE_SENT = SIGNAL_MESSAGE_SENT
TRIGGER_CLOSED = SIGNAL_CLOSED
TRIGGER_REOPENED = SIGNAL_REOPENED
TRIGGER_ASSIGNED = SIGNAL_ASSIGNED
TRIGGER_MOVED = SIGNAL_MOVED
# An SLA deadline reached 80 % of its target (at risk) or all of it (breached).
TRIGGER_SLA_AT_RISK = "sla_at_risk"
TRIGGER_SLA_BREACHED = "sla_breached"
# Message triggers caused by automation run only rules that opt in (``include_automated``).
MESSAGE_TRIGGERS = (TRIGGER_MESSAGE_RECEIVED, TRIGGER_MESSAGE_SENT)


class ConversationStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    SPAM = "spam"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class MessageStatus(StrEnum):
    RECEIVED = "received"
    # Waiting for a moment to go (quiet hours, or sent later): ``messages.held_until``.
    HELD = "held"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    # Never handed to the provider: the number opted out (the reason is on the message).
    BLOCKED = "blocked"
    # A held message someone cancelled, or one an opt-out cancelled.
    CANCELLED = "cancelled"


class RunOutcome(StrEnum):
    """What one evaluation of a rule came to (``rule_runs.outcome``)."""

    FIRED = "fired"
    SKIPPED = "skipped"
    # Its step could not be carried out even after retrying (a long outage): recorded with
    # the reason, and the conversation goes on.
    FAILED = "failed"


def as_utc(at: datetime) -> datetime:
    """Event times are UTC; a naive one (from a caller that forgot the zone) is read as UTC."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


# --- the conversation ------------------------------------------------------------------------


@dataclass
class Clocks:
    """The durable clocks of a conversation and the figures derived from them.

    The workflow computes them from event times; each field is a column of the same name on
    the conversation row (:meth:`copy_to`, :meth:`from_row`) and the rule fact
    ``conversation.<name>`` (:meth:`facts`). Adding a clock is a field here (and its column).
    """

    first_inbound_at: datetime | None = None
    first_response_at: datetime | None = None
    last_inbound_at: datetime | None = None
    last_outbound_at: datetime | None = None
    # The last reply a person sent (auto-replies do not count): the contact awaits a reply
    # while their last message is newer.
    last_response_at: datetime | None = None
    closed_at: datetime | None = None
    time_to_first_response_seconds: int | None = None
    time_to_close_seconds: int | None = None

    @classmethod
    def from_row(cls, row: Any) -> "Clocks":
        """The clocks a conversation row holds."""
        return cls(**{f.name: getattr(row, f.name) for f in dataclasses.fields(cls)})

    def copy_to(self, row: Any) -> None:
        """Write every clock to the conversation row's column of the same name."""
        for f in dataclasses.fields(self):
            setattr(row, f.name, getattr(self, f.name))

    def facts(self) -> dict[str, Any]:
        """The clocks as rule facts (datetimes as ISO strings, JSON-safe)."""
        return {
            f"conversation.{f.name}": _iso(value) if isinstance(value, datetime) else value
            for f in dataclasses.fields(self)
            for value in [getattr(self, f.name)]
        }


@dataclass
class BusinessHours:
    """An inbox's opening hours as plain data, for a workflow to count open time with
    (``inbox/rules/hours.py``: ``add_open_time``, ``open_seconds_between``)."""

    schedule: dict[str, Any] = field(default_factory=dict)
    timezone: str = "UTC"
    holidays: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, inbox: Any) -> "BusinessHours":
        """The hours an inbox row holds."""
        return cls(dict(inbox.business_hours or {}), inbox.timezone or "UTC",
                   list(inbox.holidays or []))  # fmt: skip


@dataclass
class RuleContext:
    """The rule run that held a message: what its conditions are re-checked with when the
    hold ends (the triggering message's text and whether it was automated)."""

    rule: str
    trigger: str
    trigger_key: str
    message_body: str = ""
    message_automated: bool = False


@dataclass
class ConversationEvent:
    """The payload of every conversation signal.

    ``key`` is unique per cause (``msg-<id>``, ``closed-<event id>`` …): the workflow ignores a
    key it has already seen, so the outbox relay may deliver a signal twice without harm. ``at``
    is when the cause happened (the message row's time), not when the signal arrived: a signal
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
    # An inbound text that was a consent keyword ("opt_out", "opt_in", "help"): the inbox
    # answered it itself, so it runs no message rules.
    keyword: str = ""
    # An inbound text that may revoke consent in other words: the managers are reminded if
    # nobody has decided by then.
    review_by: datetime | None = None
    # ``message_held``: when the held message goes; ``cause``, the rule run that held it.
    held_until: datetime | None = None
    cause: RuleContext | None = None
    # ``snoozed``: until when (``SNOOZE_UNTIL_REPLY``: until the contact writes).
    snoozed_until: datetime | None = None
    # ``sla`` (EVENT_SLA): which deadline, and the stage it reached.
    sla: "SlaDeadline | None" = None


@dataclass
class PendingEvent:
    """A signal not applied yet: queued by its handler, or returned by an action of the
    workflow's own automation (which never signals its own workflow)."""

    signal: str
    event: ConversationEvent


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
class HeldSend:
    """A message held until ``until`` (quiet hours, or sent later); ``cause`` is the rule run
    that held it (None for a person's scheduled message)."""

    message_id: int
    until: datetime
    cause: RuleContext | None = None


@dataclass
class Review:
    """A possible opt-out (message ``message_id``) nobody has decided yet: the inbox's managers
    are reminded at ``due_at``."""

    message_id: int
    due_at: datetime


class SlaTarget(StrEnum):
    """The three SLA targets of an inbox (``inboxes.sla_<target>_minutes``)."""

    FIRST_RESPONSE = "first_response"  # the contact's first message to a person's first reply
    NEXT_RESPONSE = "next_response"  # each later unanswered message to a person's reply
    RESOLUTION = "resolution"  # (re)opening to closing


class SlaStage(StrEnum):
    RUNNING = "running"
    AT_RISK = "at_risk"  # 80 % of the target has passed
    BREACHED = "breached"


@dataclass
class SlaPolicy:
    """An inbox's SLA targets in minutes (None: no target), optionally counted in its open
    hours."""

    first_response_minutes: int | None = None
    next_response_minutes: int | None = None
    resolution_minutes: int | None = None
    business_hours: bool = False
    hours: BusinessHours | None = None

    def minutes(self, target: str) -> int | None:
        return {
            SlaTarget.FIRST_RESPONSE: self.first_response_minutes,
            SlaTarget.NEXT_RESPONSE: self.next_response_minutes,
            SlaTarget.RESOLUTION: self.resolution_minutes,
        }[SlaTarget(target)]


@dataclass
class SlaDeadline:
    """One running SLA deadline of a conversation: set when its clock starts (from the policy
    then; a later policy change does not move it), ended when its condition is met."""

    target: str
    started_at: datetime
    at_risk_at: datetime
    due_at: datetime
    stage: str = SlaStage.RUNNING

    @property
    def key(self) -> str:
        """One per deadline: its report facts and its alerts are keyed by it."""
        return f"{self.target}:{as_utc(self.started_at).isoformat()}"

    def next_alert(self) -> datetime | None:
        """When this deadline next raises an alert (None once breached)."""
        if self.stage == SlaStage.RUNNING:
            return self.at_risk_at
        if self.stage == SlaStage.AT_RISK:
            return self.due_at
        return None


@dataclass
class AutomationState:
    """What automation remembers per conversation; carried across continue-as-new."""

    waits: list[PendingWait] = field(default_factory=list)
    # Names of run_once rules that have fired on this conversation.
    ran_once: list[str] = field(default_factory=list)
    # When automation decided to send SMS, pruned to the last hour (for the loop cap).
    automated_sends: list[datetime] = field(default_factory=list)


@dataclass
class ConversationState:
    """Everything the workflow knows about its conversation; carried across continue-as-new."""

    conversation_id: int
    status: str = ConversationStatus.OPEN
    inbox_id: int | None = None
    channel_id: int | None = None
    assignee_id: int | None = None
    opened_at: datetime | None = None
    clocks: Clocks = field(default_factory=Clocks)
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
    # Held messages and undecided possible opt-outs (workflows/consent.py).
    holds: list[HeldSend] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    # Snoozed until then (workflows/snooze.py); ``SNOOZE_UNTIL_REPLY`` arms no timer.
    snoozed_until: datetime | None = None
    # The running SLA deadlines (workflows/sla.py), set by the store step from the policy.
    sla: list[SlaDeadline] = field(default_factory=list)

    def facts(self) -> dict[str, Any]:
        """What the workflow knows best, as rule facts: they override the stored snapshot."""
        return {
            **self.clocks.facts(),
            **{
                f"conversation.sla.{target}_due_at": _iso(due.due_at if due else None)
                for target in SlaTarget
                for due in [next((d for d in self.sla if d.target == target), None)]
            },
            "conversation.status": self.status,
            "conversation.opened_at": _iso(self.opened_at),
            "conversation.last_direction": self.last_direction,
            "conversation.messages_received": self.messages_received,
            "conversation.messages_sent": self.messages_sent,
        }


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


# --- automation ------------------------------------------------------------------------------


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
    # The wait counts only the inbox's open hours (``business: true``); False in histories
    # recorded before it existed.
    wait_business: bool = False
    run_once: bool = False
    stop: bool = False
    include_automated: bool = False
    enabled: bool = True
    description: str = ""
    # An action waits on another system (a webhook): the rule runs as a regular activity.
    remote: bool = False

    @property
    def sends(self) -> int:
        """How many SMS one run of this rule sends (for the per-conversation cap)."""
        return sum(1 for action in self.actions if action.get("kind") == "send_sms")


@dataclass
class ObserveInput:
    """What an event (or a wait falling due) needs from the store: write ``clocks`` (when they
    changed), then read the enabled rules with any of ``triggers`` (or the rule named ``rule``,
    enabled or not), the stored facts when one of them is evaluated now (no ``wait``, or
    the named rule) and its conditions read more than ``known``, and the inbox's hours when
    one of them is armed with a business wait (``triggers``, not a named rule)."""

    conversation_id: int
    now: datetime
    clocks: Clocks | None = None
    triggers: list[str] = field(default_factory=list)
    rule: str | None = None
    # Facts the workflow holds itself (its clocks, the message): rules whose conditions read
    # nothing else need no facts from the database.
    known: dict[str, Any] = field(default_factory=dict)
    # With ``clocks``: the running SLA deadlines, for the store to start, keep or end them, and
    # when the event that changed the clocks happened (a resolution clock starts then).
    sla: list[SlaDeadline] | None = None
    event_at: datetime | None = None
    # Return the inbox's hours whatever the rules: a business wait is armed after an earlier
    # rule of the same event acted (it may have moved the conversation to another inbox).
    hours: bool = False


@dataclass
class ObserveResult:
    rules: list[RuleSpec] = field(default_factory=list)
    # Automated SMS one conversation may send per hour before automation stops sending.
    sends_per_hour: int = 10
    # The conversation as stored, as facts; None when no returned rule needed them.
    facts: dict[str, Any] | None = None
    # False when the conversation row is gone (its rules are then skipped).
    found: bool = True
    # The SLA deadlines running after the clocks were written (None: unchanged).
    sla: list[SlaDeadline] | None = None
    # The conversation's inbox hours, when a returned rule's wait counts business hours (and
    # for ``ObserveInput.hours``); None otherwise.
    hours: BusinessHours | None = None


@dataclass
class ActionRequest:
    """One action of one rule run. ``key`` makes it idempotent."""

    key: str
    kind: str
    params: dict[str, Any]


@dataclass
class ActionTaken:
    kind: str
    # "done", "skipped" (not possible now, with the reason) or "failed" (with the reason).
    status: str
    detail: str = ""


@dataclass
class RunRecord:
    """One evaluation of a rule, as ``rule_runs`` stores it (once per conversation, rule and
    trigger key)."""

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
    # When the rule's wait fell due (runs a wait fired): evaluated_at minus this is the timer's
    # lateness (a metric; not stored).
    due_at: datetime | None = None


@dataclass
class RunRuleInput:
    """Run ``actions`` in order (each exactly once, by its key, in its own transaction), then
    store ``record`` with what they did. No actions: store the record (a skipped run)."""

    record: RunRecord
    actions: list[ActionRequest] = field(default_factory=list)
    # The triggering message's text (for ``message.body`` in templates).
    message_body: str = ""
    # Set when the step failed for good: nothing more is done; the actions already done report
    # what they did, the others are recorded as failed with this reason.
    failure: str = ""


@dataclass
class RunRuleResult:
    actions: list[ActionTaken] = field(default_factory=list)
    # What the actions did to this conversation, for the workflow to apply in order (an
    # automated reply's ``message_sent``, a ``closed`` …): its own automation never signals it.
    events: list[PendingEvent] = field(default_factory=list)


@dataclass
class SlaAlertInput:
    """Deadline ``deadline`` of conversation ``conversation_id`` reached ``stage`` (at risk or
    breached) at ``now``: log it on the timeline, notify, record a breach for the reports."""

    conversation_id: int
    deadline: SlaDeadline
    stage: str
    now: datetime


@dataclass
class WakeSnoozedInput:
    """The snooze of conversation ``conversation_id`` that ends at ``until`` fell due at ``now``:
    end it (unless it was ended or changed meanwhile) and mark it unread for its assignee."""

    conversation_id: int
    until: datetime
    now: datetime


@dataclass
class ReleaseHeldInput:
    """End the hold of message ``message_id`` at ``now``: queue it for delivery (unless its
    number opted out meanwhile, or quiet hours hold it again), or cancel it with ``cancel``."""

    message_id: int
    now: datetime
    cancel: str = ""


@dataclass
class ReleaseHeldResult:
    # The message's ``message_sent`` when it goes now.
    events: list[PendingEvent] = field(default_factory=list)
    # When it was held again (quiet hours still on for it).
    held_until: datetime | None = None


# --- delivery --------------------------------------------------------------------------------


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
