"""SLA deadlines inside the conversation workflow (deterministic code only).

A :class:`~workflows.timers.Timekeeper` over ``ConversationState.sla``, the running deadlines
the store step starts, keeps and ends as the clocks change (``inbox/sla.py``). Each deadline
alerts twice: at 80 % of its target ("at risk") and at 100 % ("breached"). An alert is one store
step (the timeline entry, the notifications, the breach fact) and then an ``EVENT_SLA`` event on
the workflow's one route, where it fires the rules' ``sla_at_risk`` / ``sla_breached``
triggers. A deadline whose 80 % and 100 % have both passed (a worker down meanwhile) raises only
the breach. The Temporal UI shows the next alert as the workflow's pending timer.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from inbox.contracts import (
        ACTIVITY_SLA_ALERT,
        EVENT_SLA,
        ConversationEvent,
        ConversationState,
        PendingEvent,
        SlaAlertInput,
        SlaDeadline,
        SlaStage,
    )
    from workflows.automation import LOCAL_RETRY_THRESHOLD, STORE_RETRY, STORE_TIMEOUT


def _next(deadlines: list[SlaDeadline]) -> tuple[datetime, SlaDeadline] | None:
    alerts = [(at, d) for d in deadlines if (at := d.next_alert()) is not None]
    return min(alerts, key=lambda pair: (pair[0], pair[1].target), default=None)


class Sla:
    """Raises the alerts of the conversation's running SLA deadlines."""

    def __init__(self, state: ConversationState) -> None:
        self.state = state

    def next_deadline(self) -> datetime | None:
        found = _next(self.state.sla)
        return found[0] if found is not None else None

    def describe_next(self) -> str:
        found = _next(self.state.sla)
        assert found is not None  # only asked while one is pending
        at, deadline = found
        stage = "breached" if at >= deadline.due_at else "at risk"
        return f"SLA {deadline.target.replace('_', ' ')} {stage}"

    async def fire_next(self, conversation: ConversationState, now: datetime) -> list[PendingEvent]:
        found = _next(self.state.sla)
        assert found is not None  # only called when due
        _at, deadline = found
        stage = SlaStage.BREACHED if now >= deadline.due_at else SlaStage.AT_RISK
        deadline.stage = stage
        try:
            await workflow.execute_local_activity(
                ACTIVITY_SLA_ALERT,
                SlaAlertInput(conversation.conversation_id, deadline, stage, now),
                start_to_close_timeout=STORE_TIMEOUT,
                retry_policy=STORE_RETRY,
                local_retry_threshold=LOCAL_RETRY_THRESHOLD,
                summary=f"SLA {deadline.target} {stage}",
            )
        except FailureError as exc:  # logged; the rules still hear of it
            workflow.logger.error(
                "SLA alert of %s not stored: %s", conversation.conversation_id, exc
            )
        event = ConversationEvent(key=f"sla-{deadline.key}-{stage}", at=now, sla=deadline)
        return [PendingEvent(EVENT_SLA, event)]
