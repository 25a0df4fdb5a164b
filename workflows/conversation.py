"""The conversation workflow: one long-running "entity" workflow per conversation.

It keeps the durable clocks of the conversation (first inbound, first human response, last
inbound, last outbound, closed) and the figures derived from them, keeps the conversation
findable by search attributes, delivers the messages sent in it, and runs the automation rules
(``workflows/automation.py``) on the triggers each event fires, with durable timers for delayed
rules.

Every event takes one route (:meth:`ConversationWorkflow._handle`): apply it to the state
(:func:`apply_event`, pure), then react to it (one store step that writes the clocks and reads
what the rules need, then each rule evaluated and run). What the rules' actions did to the
conversation (an automated reply, a close …) comes back from their step as events, applied next
on the same route.

Shape (samples-python ``message_passing/safe_message_handlers``): state in one dataclass
(:class:`ConversationState`), signal handlers that only append to a queue, one main loop that
applies queued events in order, continue-as-new carrying the state and the unprocessed queue.
Every clock is taken from the event's ``at`` (when the message was stored), never from when the
signal arrived, so a signal delayed by a Temporal outage still gives exact clocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from datetime import datetime, timedelta
from typing import Any, NoReturn

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from inbox.contracts import (
        ACTIVITY_LOAD_STATE,
        EVENT_SLA,
        SA_ASSIGNEE,
        SA_INBOX,
        SA_LAST_INBOUND,
        SA_STATUS,
        SIGNAL_ASSIGNED,
        SIGNAL_CLOSED,
        SIGNAL_HOLD_CANCELLED,
        SIGNAL_MARKED_NOT_SPAM,
        SIGNAL_MARKED_SPAM,
        SIGNAL_MESSAGE_HELD,
        SIGNAL_MESSAGE_RECEIVED,
        SIGNAL_MESSAGE_SENT,
        SIGNAL_MOVED,
        SIGNAL_OPT_OUT_DECIDED,
        SIGNAL_REOPENED,
        SIGNAL_SNOOZED,
        SIGNAL_UNSNOOZED,
        TRIGGER_ASSIGNED,
        TRIGGER_CLOSED,
        TRIGGER_MESSAGE_RECEIVED,
        TRIGGER_MESSAGE_SENT,
        TRIGGER_MOVED,
        TRIGGER_OPENED,
        TRIGGER_REOPENED,
        TRIGGER_SLA_AT_RISK,
        TRIGGER_SLA_BREACHED,
        WORKFLOW_TYPE,
        ConversationEvent,
        ConversationInput,
        ConversationState,
        ConversationStatus,
        Direction,
        HeldSend,
        LoadStateInput,
        PendingEvent,
        Review,
        SlaStage,
        as_utc,
    )
    from workflows.automation import (
        LOCAL_RETRY_THRESHOLD,
        STORE_RETRY,
        STORE_TIMEOUT,
        Automation,
    )
    from workflows.consent import Holds, Reviews
    from workflows.send_message import deliver
    from workflows.sla import Sla
    from workflows.snooze import Snooze
    from workflows.timers import Timekeeper, earliest, fire_due

OPEN, CLOSED, SPAM = ConversationStatus.OPEN, ConversationStatus.CLOSED, ConversationStatus.SPAM

# How many handled event keys to remember. The relay redelivers within seconds or minutes, so
# the last few hundred keys are plenty, and the list stays small in every continue-as-new input.
SEEN_KEYS_LIMIT = 500


def _seconds(start: datetime | None, end: datetime) -> int:
    return max(0, int((end - start).total_seconds())) if start is not None else 0


def _later(current: datetime | None, at: datetime) -> datetime:
    # Events normally arrive in order; if one is late, a "last" clock must not move backwards.
    return at if current is None or at > current else current


def apply_event(state: ConversationState, signal: str, event: ConversationEvent) -> list[str]:
    """Apply one event to ``state`` and return the triggers it fires, in order.

    Pure and deterministic (no I/O): the automation engine hooks in on the returned triggers.
    An event that changes nothing (closing a closed conversation, assigning the same user)
    fires nothing.
    """
    at = as_utc(event.at)
    clocks = state.clocks
    if state.opened_at is None:
        state.opened_at = at
    triggers: list[str] = []
    counted = event.message_id is not None and event.message_id in state.counted_message_ids
    if counted:
        state.counted_message_ids.remove(event.message_id)  # type: ignore[arg-type]
    # The conversation's very first message opens it, whichever side wrote it.
    first_message = clocks.first_inbound_at is None and clocks.last_outbound_at is None
    if signal in (SIGNAL_MESSAGE_RECEIVED, SIGNAL_MESSAGE_SENT) and first_message:
        triggers.append(TRIGGER_OPENED)
    if signal == SIGNAL_MESSAGE_RECEIVED:
        # New inbound on a closed conversation reopens it (spam stays spam).
        if state.status != SPAM and (state.status == CLOSED or clocks.closed_at is not None):
            _reopen(state)
            triggers.append(TRIGGER_REOPENED)
        state.messages_received += 0 if counted else 1
        # The contact wrote: a snooze ends early (the inbound path cleared the row).
        state.snoozed_until = None
        if clocks.first_inbound_at is None:
            clocks.first_inbound_at = at
        clocks.last_inbound_at = _later(clocks.last_inbound_at, at)
        state.last_direction = Direction.INBOUND
        if event.review_by is not None and event.message_id is not None:
            state.reviews.append(Review(event.message_id, as_utc(event.review_by)))
        triggers.append(TRIGGER_MESSAGE_RECEIVED)
    elif signal == SIGNAL_MESSAGE_SENT:
        state.messages_sent += 0 if counted else 1
        clocks.last_outbound_at = _later(clocks.last_outbound_at, at)
        # An auto-reply does not answer the contact: they still await a person.
        if not event.automated:
            state.last_direction = Direction.OUTBOUND
            clocks.last_response_at = _later(clocks.last_response_at, at)
        # Only a person's reply to the contact stops the first-response clock: an auto-reply
        # (event.automated) does not, nor does an agent's message before the contact wrote.
        if (
            not event.automated
            and clocks.first_response_at is None
            and clocks.first_inbound_at is not None
            and at >= clocks.first_inbound_at
        ):
            clocks.first_response_at = at
            clocks.time_to_first_response_seconds = _seconds(clocks.first_inbound_at, at)
        triggers.append(TRIGGER_MESSAGE_SENT)
    elif signal == SIGNAL_CLOSED:
        if state.status != CLOSED or clocks.closed_at is None:
            state.status = CLOSED
            clocks.closed_at = at
            clocks.time_to_close_seconds = _seconds(state.opened_at, at)
            triggers.append(TRIGGER_CLOSED)
    elif signal == SIGNAL_REOPENED:
        if state.status != OPEN or clocks.closed_at is not None:
            _reopen(state)
            triggers.append(TRIGGER_REOPENED)
    elif signal == SIGNAL_ASSIGNED:
        if event.assignee_id != state.assignee_id:
            state.assignee_id = event.assignee_id
            triggers.append(TRIGGER_ASSIGNED)
    elif signal == SIGNAL_MOVED:
        if event.inbox_id is not None and event.inbox_id != state.inbox_id:
            state.inbox_id = event.inbox_id
            triggers.append(TRIGGER_MOVED)
    elif signal == SIGNAL_MARKED_SPAM:
        # Not a resolution: no time to close, and no "closed" rules (a closing or survey SMS
        # must not go to a spammer). It stops the clocks as closing does.
        if state.status != SPAM:
            state.status = SPAM
            clocks.closed_at = clocks.closed_at or at
    elif signal == SIGNAL_MARKED_NOT_SPAM:
        # Back to closed as it was (back to open comes as ``reopened``); no rules run.
        if state.status == SPAM:
            state.status = CLOSED
    elif signal == SIGNAL_MESSAGE_HELD:
        # Nothing is sent yet: its message_sent comes when the hold ends.
        if event.message_id is not None and event.held_until is not None:
            state.holds = [h for h in state.holds if h.message_id != event.message_id]
            state.holds.append(HeldSend(event.message_id, as_utc(event.held_until), event.cause))
    elif signal == SIGNAL_HOLD_CANCELLED:
        state.holds = [h for h in state.holds if h.message_id != event.message_id]
    elif signal == SIGNAL_SNOOZED:
        if event.snoozed_until is not None:
            state.snoozed_until = as_utc(event.snoozed_until)
    elif signal == SIGNAL_UNSNOOZED:
        state.snoozed_until = None
    elif signal == SIGNAL_OPT_OUT_DECIDED:
        state.reviews = [r for r in state.reviews if r.message_id != event.message_id]
    elif signal == EVENT_SLA:
        # The deadline's own stage moved when its alert fired (workflows/sla.py).
        if event.sla is not None:
            breached = event.sla.stage == SlaStage.BREACHED
            triggers.append(TRIGGER_SLA_BREACHED if breached else TRIGGER_SLA_AT_RISK)
    else:
        raise ValueError(f"unknown conversation signal {signal!r}")
    return triggers


def _reopen(state: ConversationState) -> None:
    # The next close measures time to close again from the conversation's opening.
    state.status = OPEN
    state.clocks.closed_at = None
    state.clocks.time_to_close_seconds = None


def _search_attributes(state: ConversationState) -> list[SearchAttributeUpdate[Any]]:
    """The search attributes that describe ``state`` (no phone numbers or text: unencrypted)."""
    updates: list[SearchAttributeUpdate[Any]] = [SA_STATUS.value_set(state.status)]
    updates.append(
        SA_INBOX.value_set(state.inbox_id) if state.inbox_id is not None else SA_INBOX.value_unset()
    )
    updates.append(
        SA_ASSIGNEE.value_set(state.assignee_id)
        if state.assignee_id is not None
        else SA_ASSIGNEE.value_unset()
    )
    if state.clocks.last_inbound_at is not None:
        updates.append(SA_LAST_INBOUND.value_set(state.clocks.last_inbound_at))
    return updates


@workflow.defn(name=WORKFLOW_TYPE)
class ConversationWorkflow:
    """One conversation's durable state. Signals: one per ``SIGNAL_*`` name of the contracts,
    each taking a :class:`ConversationEvent`. Query ``state`` returns the
    :class:`ConversationState`."""

    @workflow.init
    def __init__(self, request: ConversationInput) -> None:
        self._request = request
        self._state: ConversationState | None = request.state
        self._queue: list[PendingEvent] = list(request.pending)
        self._events_this_run = 0
        # Message ids whose delivery runs now (as workflow tasks, so events keep flowing).
        self._deliveries: dict[int, asyncio.Task[object]] = {}
        # Built in ``run`` on the loaded state (its memory lives in ``state.automation``).
        self._automation: Automation | None = None
        # Every kind of deadline the conversation keeps (``workflows/timers.py``).
        self._timekeepers: list[Timekeeper] = []
        # When the last event was handled: a closed conversation ends a quiet period after it.
        self._last_event_at = workflow.now()
        # False only while the main loop sleeps (nothing being applied, evaluated or fired).
        self._busy = True

    # Signal handlers only queue: the main loop applies events one at a time, in arrival order,
    # so no handler interleaves with another at an ``await``.
    @workflow.signal(name=SIGNAL_MESSAGE_RECEIVED)
    def message_received(self, event: ConversationEvent) -> None:
        """The contact's message was stored."""
        self._queue.append(PendingEvent(SIGNAL_MESSAGE_RECEIVED, event))

    @workflow.signal(name=SIGNAL_MESSAGE_SENT)
    def message_sent(self, event: ConversationEvent) -> None:
        """An outbound message was stored (queued); the workflow delivers it."""
        self._queue.append(PendingEvent(SIGNAL_MESSAGE_SENT, event))

    @workflow.signal(name=SIGNAL_CLOSED)
    def closed(self, event: ConversationEvent) -> None:
        """The conversation was closed."""
        self._queue.append(PendingEvent(SIGNAL_CLOSED, event))

    @workflow.signal(name=SIGNAL_REOPENED)
    def reopened(self, event: ConversationEvent) -> None:
        """The conversation was reopened."""
        self._queue.append(PendingEvent(SIGNAL_REOPENED, event))

    @workflow.signal(name=SIGNAL_ASSIGNED)
    def assigned(self, event: ConversationEvent) -> None:
        """The assignee changed (``assignee_id`` None: unassigned)."""
        self._queue.append(PendingEvent(SIGNAL_ASSIGNED, event))

    @workflow.signal(name=SIGNAL_MOVED)
    def moved(self, event: ConversationEvent) -> None:
        """The conversation moved to inbox ``inbox_id``."""
        self._queue.append(PendingEvent(SIGNAL_MOVED, event))

    @workflow.signal(name=SIGNAL_MARKED_SPAM)
    def marked_spam(self, event: ConversationEvent) -> None:
        """The conversation was marked as spam."""
        self._queue.append(PendingEvent(SIGNAL_MARKED_SPAM, event))

    @workflow.signal(name=SIGNAL_MARKED_NOT_SPAM)
    def marked_not_spam(self, event: ConversationEvent) -> None:
        """A spam conversation went back to closed."""
        self._queue.append(PendingEvent(SIGNAL_MARKED_NOT_SPAM, event))

    @workflow.signal(name=SIGNAL_MESSAGE_HELD)
    def message_held(self, event: ConversationEvent) -> None:
        """An outbound message was stored held until ``held_until`` (sent later)."""
        self._queue.append(PendingEvent(SIGNAL_MESSAGE_HELD, event))

    @workflow.signal(name=SIGNAL_HOLD_CANCELLED)
    def hold_cancelled(self, event: ConversationEvent) -> None:
        """A held message was cancelled (by a person, or by the number's opt-out)."""
        self._queue.append(PendingEvent(SIGNAL_HOLD_CANCELLED, event))

    @workflow.signal(name=SIGNAL_OPT_OUT_DECIDED)
    def opt_out_decided(self, event: ConversationEvent) -> None:
        """A person decided the possible opt-out ``message_id``: no reminder."""
        self._queue.append(PendingEvent(SIGNAL_OPT_OUT_DECIDED, event))

    @workflow.signal(name=SIGNAL_SNOOZED)
    def snoozed(self, event: ConversationEvent) -> None:
        """An agent snoozed the conversation until ``snoozed_until``."""
        self._queue.append(PendingEvent(SIGNAL_SNOOZED, event))

    @workflow.signal(name=SIGNAL_UNSNOOZED)
    def unsnoozed(self, event: ConversationEvent) -> None:
        """An agent ended the snooze early."""
        self._queue.append(PendingEvent(SIGNAL_UNSNOOZED, event))

    @workflow.query(name="state")
    def state(self) -> ConversationState:
        """The conversation as the workflow knows it."""
        if self._state is None:
            raise ApplicationError("the conversation's state is still loading; ask again")
        return self._state

    @workflow.query(name="idle")
    def idle(self) -> bool:
        """True when no event waits, no rule is being evaluated and no message is being sent."""
        return not self._busy and not self._queue and not self._deliveries

    @workflow.run
    async def run(self, request: ConversationInput) -> ConversationState:
        """Apply events until continue-as-new, or until a closed conversation stays quiet."""
        if self._state is None:
            # A database outage only delays the start; a conversation that does not exist
            # (never stored, or deleted) fails the workflow at once, naming it.
            self._state = await workflow.execute_local_activity(
                ACTIVITY_LOAD_STATE,
                LoadStateInput(conversation_id=request.conversation_id),
                result_type=ConversationState,
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
                local_retry_threshold=LOCAL_RETRY_THRESHOLD,
            )
        state = self._state
        self._automation = Automation(state.automation, state.conversation_id)
        self._timekeepers = [
            self._automation,
            Holds(state, self._automation),
            Reviews(state, self._automation),
            Snooze(state),
            Sla(state),
        ]
        self._sync_search_attributes(state)
        while True:
            while self._queue and not self._should_continue_as_new():
                await self._handle(state, self._queue.pop(0))
            if self._should_continue_as_new():
                await self._continue_as_new(state)
            # Sleep until the next event, the next deadline, or (closed only) the end of the
            # quiet period, whichever comes first.
            timeout, summary = self._wait_timeout(state)
            if timeout is None or timeout > timedelta(0):
                self._busy = False
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(
                        lambda: bool(self._queue) or self._should_continue_as_new(),
                        timeout=timeout,
                        timeout_summary=summary,
                    )
                self._busy = True
            self._queue[0:0] = await fire_due(self._timekeepers, state)
            if self._quiet_remaining(state) == timedelta(0) and await self._finished_quietly(state):
                return state

    async def _handle(self, state: ConversationState, pending: PendingEvent) -> None:
        """The one route of every event: apply it, deliver what it queued, react to it; what
        the reaction did to the conversation is applied next, on this same route."""
        self._events_this_run += 1
        self._last_event_at = workflow.now()
        event = pending.event
        if event.key in state.seen_keys:
            return  # the relay delivered it twice
        state.seen_keys = [*state.seen_keys, event.key][-SEEN_KEYS_LIMIT:]
        clocks_before = dataclasses.replace(state.clocks)
        triggers = apply_event(state, pending.signal, event)
        self._sync_search_attributes(state)
        if pending.signal == SIGNAL_MESSAGE_SENT:
            self._deliver(event)
        clocks_changed = state.clocks != clocks_before
        if clocks_changed or triggers:
            assert self._automation is not None  # built in ``run`` before any event
            caused = await self._automation.react(triggers, event, state, clocks_changed)
            self._queue[0:0] = caused

    def _deliver(self, event: ConversationEvent) -> None:
        """Start delivering the message an event stored, unless it is on its way already."""
        message_id = event.message_id
        if message_id is None:
            workflow.logger.warning("message_sent event %s names no message", event.key)
            return
        if message_id in self._deliveries:
            return
        timeout = self._request.delivery_timeout_seconds

        async def run_delivery() -> object:
            try:
                return await deliver(message_id, timeout_seconds=timeout)
            finally:
                del self._deliveries[message_id]

        self._deliveries[message_id] = asyncio.create_task(run_delivery())

    def _quiet_remaining(self, state: ConversationState) -> timedelta | None:
        """How long until a closed conversation's workflow may end (None while it is open)."""
        if state.status == OPEN:
            return None
        ends = self._last_event_at + timedelta(seconds=self._request.quiet_period_seconds)
        return max(ends - workflow.now(), timedelta(0))

    def _wait_timeout(self, state: ConversationState) -> tuple[timedelta | None, str | None]:
        """How long to sleep, and what the timer is for (its summary in the Temporal UI, so an
        operator sees "SLA first response at risk" beside the pending timer)."""
        # A pending deadline always falls due before the workflow may end (it cannot end with
        # one pending), so while one is armed the quiet period need not wake the loop.
        found = earliest(self._timekeepers)
        if found is None:
            quiet = self._quiet_remaining(state)
            return quiet, None if quiet is None else "quiet period ends: the workflow completes"
        deadline, summary = found
        return max(deadline - workflow.now(), timedelta(0)), summary

    def _should_continue_as_new(self) -> bool:
        return (
            workflow.info().is_continue_as_new_suggested()
            or self._events_this_run >= self._request.max_events_per_run
        )

    async def _continue_as_new(self, state: ConversationState) -> NoReturn:
        # Deliveries cannot move to the next run mid-call: let them finish first (new signals
        # keep queueing meanwhile and travel in ``pending``).
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and not self._deliveries
        )
        workflow.logger.info("continuing as new with %d pending event(s)", len(self._queue))
        workflow.continue_as_new(
            dataclasses.replace(self._request, state=state, pending=list(self._queue))
        )

    async def _finished_quietly(self, state: ConversationState) -> bool:
        """After the quiet period: True when the closed conversation's workflow may end (no
        deadline pending: it must fire, or be skipped with its reason, first)."""
        if earliest(self._timekeepers) is not None:
            return False
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and not self._deliveries
        )
        # A signal may have come while deliveries finished: it keeps the workflow running.
        return not self._queue and state.status != OPEN

    def _sync_search_attributes(self, state: ConversationState) -> None:
        """Upsert the search attributes that differ from the run's current ones."""
        current = workflow.info().typed_search_attributes
        changes = [
            update
            for update in _search_attributes(state)
            if current.get(update.key) != update.value
        ]
        if changes:
            workflow.upsert_search_attributes(changes)
