"""The snooze's deadline inside the conversation workflow (deterministic code only).

A :class:`~workflows.timers.Timekeeper` over ``ConversationState.snoozed_until``: it survives
continue-as-new and worker restarts with the state, and "until the contact replies"
(``SNOOZE_UNTIL_REPLY``) arms no timer (the contact's message ends it in ``apply_event``).
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from inbox.contracts import (
        ACTIVITY_WAKE_SNOOZED,
        SNOOZE_UNTIL_REPLY,
        ConversationState,
        PendingEvent,
        WakeSnoozedInput,
    )
    from workflows.automation import LOCAL_RETRY_THRESHOLD, STORE_RETRY, STORE_TIMEOUT


class Snooze:
    """When the snooze's time comes, the store step ends it and marks the conversation unread
    for its assignee (nothing, if the row's snooze was ended or moved meanwhile)."""

    def __init__(self, state: ConversationState) -> None:
        self.state = state

    def next_deadline(self) -> datetime | None:
        until = self.state.snoozed_until
        return until if until is not None and until < SNOOZE_UNTIL_REPLY else None

    def describe_next(self) -> str:
        return "snooze ends"

    async def fire_next(self, conversation: ConversationState, now: datetime) -> list[PendingEvent]:
        until = self.state.snoozed_until
        assert until is not None  # only called when due
        self.state.snoozed_until = None
        try:
            await workflow.execute_local_activity(
                ACTIVITY_WAKE_SNOOZED,
                WakeSnoozedInput(conversation.conversation_id, until, now),
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
                local_retry_threshold=LOCAL_RETRY_THRESHOLD,
                summary="back from snooze",
            )
        except FailureError as exc:  # the conversation is gone: nothing to wake
            workflow.logger.error("snooze of %s not ended: %s", conversation.conversation_id, exc)
        return []
