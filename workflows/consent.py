"""Consent's deadlines inside the conversation workflow (deterministic code only): messages held
for quiet hours (or sent later), and possible opt-outs nobody has decided yet.

Both are :class:`~workflows.timers.Timekeeper` s over lists in the workflow's state
(``ConversationState.holds``, ``.reviews``), so they survive continue-as-new and worker
restarts, and the Temporal UI shows their pending timer.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from inbox.contracts import (
        ACTIVITY_RELEASE_HELD,
        ActionRequest,
        ConversationState,
        HeldSend,
        PendingEvent,
        ReleaseHeldInput,
        ReleaseHeldResult,
        RunOutcome,
        RunRecord,
        RunRuleInput,
    )
    from workflows.automation import (
        LOCAL_RETRY_THRESHOLD,
        STORE_RETRY,
        STORE_TIMEOUT,
        Automation,
    )

# The built-in rule that reminds an inbox's managers of an undecided possible opt-out (its
# runs are recorded like any rule's).
REVIEW_RULE = "consent-review-reminder"
REVIEW_TEXT = (
    "{{ contact.name or contact.phone }} may have asked to stop texts 10 business days ago, and "
    "nobody has recorded the opt-out or dismissed it: the law gives 10 business days to honour "
    "it."
)


class Holds:
    """Held messages: each goes when its hold ends, after the rule that held it is re-checked
    (its conditions as things are then); the release step re-checks consent and quiet hours."""

    def __init__(self, state: ConversationState, automation: Automation) -> None:
        self.state = state
        self.automation = automation

    def next_deadline(self) -> datetime | None:
        return min((hold.until for hold in self.state.holds), default=None)

    def describe_next(self) -> str:
        hold = min(self.state.holds, key=lambda hold: (hold.until, hold.message_id))
        return f"quiet hours end: send held message {hold.message_id}"

    async def fire_next(self, conversation: ConversationState, now: datetime) -> list[PendingEvent]:
        hold = min(self.state.holds, key=lambda hold: (hold.until, hold.message_id))
        self.state.holds.remove(hold)
        cancel = ""
        if hold.cause is not None:
            cancel = await self.automation.why_not_now(hold.cause, conversation, now)
        try:
            result: ReleaseHeldResult = await workflow.execute_local_activity(
                ACTIVITY_RELEASE_HELD,
                ReleaseHeldInput(message_id=hold.message_id, now=now, cancel=cancel),
                result_type=ReleaseHeldResult,
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
                local_retry_threshold=LOCAL_RETRY_THRESHOLD,
                summary=f"message {hold.message_id}: "
                + (f"cancelled, {cancel}" if cancel else "send"),
            )
        except FailureError as exc:  # the message is gone: nothing to send
            workflow.logger.error("held message %s not released: %s", hold.message_id, exc)
            return []
        if result.held_until is not None:
            self.state.holds.append(HeldSend(hold.message_id, result.held_until, hold.cause))
        return result.events


class Reviews:
    """Possible opt-outs: when one has waited its 10 business days undecided, the inbox's
    managers are notified (a run of the built-in rule ``consent-review-reminder``)."""

    def __init__(self, state: ConversationState, automation: Automation) -> None:
        self.state = state
        self.automation = automation

    def next_deadline(self) -> datetime | None:
        return min((review.due_at for review in self.state.reviews), default=None)

    def describe_next(self) -> str:
        review = min(self.state.reviews, key=lambda review: (review.due_at, review.message_id))
        return f"remind managers: possible opt-out in message {review.message_id}"

    async def fire_next(self, conversation: ConversationState, now: datetime) -> list[PendingEvent]:
        review = min(self.state.reviews, key=lambda review: (review.due_at, review.message_id))
        self.state.reviews.remove(review)
        key = f"review-{review.message_id}"
        record = RunRecord(
            conversation_id=conversation.conversation_id,
            rule=REVIEW_RULE,
            version="built-in",
            trigger="possible_opt_out",
            trigger_key=key,
            outcome=RunOutcome.FIRED,
            triggered_at=review.due_at - timedelta(0),
            evaluated_at=now,
        )
        notify = ActionRequest(
            key=f"{conversation.conversation_id}:{REVIEW_RULE}:{key}:0",
            kind="notify",
            params={"to": "inbox.managers", "text": REVIEW_TEXT},
        )
        result = await self.automation.run(RunRuleInput(record=record, actions=[notify]))
        return result.events
