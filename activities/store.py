"""Activities that read and write a conversation for its workflow: its state when the workflow
starts, and the store step of every event (clocks written, rules and facts read).

The workflow owns the clocks (it computes them from event times); the database is where the
views read them. Each activity uses one session and commits once. The database work runs on the
worker's database executor, never beside the provider calls (``activities/sms.py``), so a slow
provider cannot hold up a conversation's events.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from inbox import live, metrics
from inbox.consent.quiet_hours import held_until
from inbox.contracts import (
    ACTIVITY_LOAD_STATE,
    ACTIVITY_OBSERVE,
    ACTIVITY_RELEASE_HELD,
    ACTIVITY_SLA_ALERT,
    ACTIVITY_WAKE_SNOOZED,
    SIGNAL_MESSAGE_SENT,
    BusinessHours,
    Clocks,
    ConversationEvent,
    ConversationState,
    Direction,
    LoadStateInput,
    MessageStatus,
    ObserveInput,
    ObserveResult,
    PendingEvent,
    ReleaseHeldInput,
    ReleaseHeldResult,
    RuleSpec,
    SlaAlertInput,
    WakeSnoozedInput,
)
from inbox.models import Conversation, Message, utcnow
from inbox.reporting.facts import record_clock_changes, record_message
from inbox.rules import engine
from inbox.rules.registry import RuleSet, registry_for
from inbox.rules.snapshot import build_facts, last_direction, message_counts
from inbox.services import consent, sla, snooze
from inbox.services.conversations import row_state
from inbox.services.outbound import publish_message_update
from inbox.settings import Settings

T = TypeVar("T")

# More unapplied messages than this means the workflow was gone for long; the rest were
# signalled long ago and will not come again.
_UNAPPLIED_LIMIT = 500


def _conversation(session: Session, conversation_id: int) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        # Retrying cannot make a deleted (or never stored) conversation appear.
        raise ApplicationError(
            f"conversation {conversation_id} does not exist",
            type="ConversationNotFound",
            non_retryable=True,
        )
    return conversation


def _not_yet_applied(session: Session, conversation: Conversation) -> list[int]:
    """Ids of stored messages newer than every clock the workflow recorded: their events have
    not been applied yet (the signal that starts the workflow is one), and are counted already."""
    recorded = [at for at in (conversation.last_inbound_at, conversation.last_outbound_at) if at]
    query = select(Message.id).where(Message.conversation_id == conversation.id)
    if recorded:
        query = query.where(Message.created_at > max(recorded))
    return sorted(session.scalars(query.order_by(Message.id.desc()).limit(_UNAPPLIED_LIMIT)))


def write_clocks(
    session: Session, conversation: Conversation, clocks: Clocks, now: datetime
) -> None:
    """Copy the workflow's clocks to the conversation row, record the report facts their
    change implies and publish the change (no commit).

    Status, inbox and assignee are not written: the services that change them write the row
    themselves, and a late write from here must not undo a newer change.
    """
    record_clock_changes(session, conversation, Clocks.from_row(conversation), clocks, now)
    clocks.copy_to(conversation)
    live.publish(
        session,
        live.CONVERSATION_UPDATED,
        conversation_id=conversation.id,
        inbox_id=conversation.inbox_id,
        data={
            "time_to_first_response_seconds": clocks.time_to_first_response_seconds,
            "time_to_close_seconds": clocks.time_to_close_seconds,
        },
    )


def select_rules(rule_set: RuleSet, request: ObserveInput) -> tuple[list[RuleSpec], bool]:
    """The rules a store step returns (the enabled ones with any of the request's triggers, or
    the one it names, enabled or not), and whether it must read the stored facts: one of them
    is evaluated now (no wait, or the named rule whose wait fell due) and its conditions read
    more than the facts the workflow holds. (Whether it reads the inbox's hours:
    :func:`wants_hours`.)"""
    if request.rule is not None:
        found = rule_set.get(request.rule)
        rules = [found] if found is not None else []
    else:
        rules = rule_set.for_triggers(request.triggers)
    wants_facts = any(
        rule.enabled
        and (request.rule is not None or not rule.wait_seconds)
        and engine.needs_stored_facts(rule, request.known, request.now)
        for rule in rules
    )
    return rules, wants_facts


def wants_hours(rules: list[RuleSpec], request: ObserveInput) -> bool:
    """Whether a store step returns the inbox's hours: asked for, or one of the rules a trigger
    selected is armed now with a wait that counts business hours (a named rule's wait has
    been armed already)."""
    return request.hours or (
        request.rule is None
        and any(rule.enabled and rule.wait_seconds and rule.wait_business for rule in rules)
    )


class StoreActivities:
    """The store activities, bound to a session factory, the settings (rules folder, public URL)
    and the executor their database work runs on (register the bound methods)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        executor: Executor | None = None,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._executor = executor

    async def _run(self, work: Callable[[], T]) -> T:
        # In the activity's context (its info for the logs, its trace span), which
        # run_in_executor does not carry into the thread by itself.
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self._executor, context.run, work)

    @activity.defn(name=ACTIVITY_LOAD_STATE)
    async def load_conversation_state(self, request: LoadStateInput) -> ConversationState:
        """The stored conversation as workflow state: a (re)started workflow begins from it."""

        def load() -> ConversationState:
            with self._sessions() as session:
                conversation = _conversation(session, request.conversation_id)
                counts = message_counts(session, conversation.id)
                state = row_state(conversation)
                state.last_direction = last_direction(session, conversation.id)
                state.messages_received = counts.get(Direction.INBOUND, 0)
                state.messages_sent = counts.get(Direction.OUTBOUND, 0)
                state.counted_message_ids = _not_yet_applied(session, conversation)
                # Deadlines whose clocks already run (a workflow started on stored clocks: the
                # demo's, or one restarted): from the first message, as their clocks say.
                started = state.clocks.first_inbound_at or utcnow()
                state.sla = sla.track(session, conversation, state.clocks, [], started)
                session.commit()
                return state

        return await self._run(load)

    @activity.defn(name=ACTIVITY_OBSERVE)
    async def observe_conversation(self, request: ObserveInput) -> ObserveResult:
        """One event's store step: write its clocks (if given), read the rules its triggers (or
        the named rule) select, and the stored facts if one of those rules is evaluated now and
        needs more than the facts the workflow holds."""
        return await self._run(lambda: self._observe(request))

    def _observe(self, request: ObserveInput) -> ObserveResult:
        # The registry re-reads a file only when it changed (one stat per file).
        rule_set = (
            registry_for(self._settings.rules_dir).current()
            if request.rule is not None or request.triggers
            else RuleSet()
        )
        rules, wants_facts = select_rules(rule_set, request)
        hours = wants_hours(rules, request)
        result = ObserveResult(rules=rules, sends_per_hour=self._settings.automation_sends_per_hour)
        if request.clocks is None and not wants_facts and not hours:
            return result
        with self._sessions() as session:
            conversation = session.get(Conversation, request.conversation_id)
            if conversation is None:
                result.found = False
                return result
            if request.clocks is not None:
                write_clocks(session, conversation, request.clocks, request.now)
                if request.sla is not None:
                    result.sla = sla.track(session, conversation, request.clocks, request.sla,
                                           request.event_at or request.now)  # fmt: skip
            if wants_facts:
                result.facts = build_facts(
                    session, conversation, request.now, self._settings.public_url
                )
            if hours:
                result.hours = BusinessHours.of(conversation.inbox)
            session.commit()
        return result

    @activity.defn(name=ACTIVITY_SLA_ALERT)
    async def sla_alert(self, request: SlaAlertInput) -> bool:
        """An SLA deadline is at risk or breached: its timeline entry, notifications and breach
        fact, once (False when already done, or the conversation is gone)."""

        def alert() -> bool:
            with self._sessions() as session:
                conversation = session.get(Conversation, request.conversation_id)
                if conversation is None:
                    return False
                done = sla.alert(session, conversation, request.deadline, request.stage,
                                 request.now)  # fmt: skip
                session.commit()
                return done

        return await self._run(alert)

    @activity.defn(name=ACTIVITY_WAKE_SNOOZED)
    async def wake_snoozed_conversation(self, request: WakeSnoozedInput) -> bool:
        """End a snooze whose time came: the conversation comes back, unread for its assignee.
        False when the row's snooze was ended or moved meanwhile (or it is gone)."""

        def wake() -> bool:
            with self._sessions() as session:
                conversation = session.get(Conversation, request.conversation_id)
                if conversation is None:
                    return False
                woken = snooze.wake(session, conversation=conversation, until=request.until)
                session.commit()
                return woken

        return await self._run(wake)

    @activity.defn(name=ACTIVITY_RELEASE_HELD)
    async def release_held_message(self, request: ReleaseHeldInput) -> ReleaseHeldResult:
        """End a message's hold: cancel it (with the reason given), block it (its number opted
        out meanwhile), hold it again (quiet hours), or queue it; queued, its ``message_sent``
        comes back for the workflow to apply and deliver."""
        return await self._run(lambda: self._release(request))

    def _release(self, request: ReleaseHeldInput) -> ReleaseHeldResult:
        with self._sessions() as session:
            message = session.get(Message, request.message_id)
            if message is None or message.status != MessageStatus.HELD:
                metrics.HELD_RELEASES.labels("gone").inc()
                return ReleaseHeldResult()  # cancelled (or sent) meanwhile
            conversation = session.get_one(Conversation, message.conversation_id)
            result = ReleaseHeldResult()
            blocked = consent.send_blocked(session, message.to_number, message.purpose)
            again = held_until(
                request.now,
                message.to_number,
                consent.compliance(session).quiet_hours,
                contact_zone=conversation.contact.timezone,
                inbox_zone=conversation.inbox.timezone,
            )
            if request.cancel:
                outcome = "cancelled"
                message.status = MessageStatus.CANCELLED
                message.error_message = f"Not sent: {request.cancel}"
            elif blocked is not None:
                outcome = "blocked"
                message.status = MessageStatus.BLOCKED
                message.error_code = blocked.code
                message.error_message = f"Not sent: {blocked.reason}"
            elif again is not None:
                outcome = "held_again"
                message.held_until = result.held_until = again
            else:
                outcome = "queued"
                message.status = MessageStatus.QUEUED
                message.held_until = None
                record_message(session, conversation, message)
                result.events.append(
                    PendingEvent(
                        SIGNAL_MESSAGE_SENT,
                        ConversationEvent(
                            key=f"msg-{message.id}",
                            at=request.now,
                            message_id=message.id,
                            automated=message.automated,
                            author_id=message.author_id,
                            inbox_id=conversation.inbox_id,
                            assignee_id=conversation.assignee_id,
                            by_automation=message.automation is not None,
                            body=message.body,
                        ),
                    )
                )
            publish_message_update(session, message)
            session.commit()
            metrics.HELD_RELEASES.labels(outcome).inc()
            if blocked is not None and not request.cancel:
                metrics.SENDS_BLOCKED.labels("release", blocked.code).inc()
            return result
