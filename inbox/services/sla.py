"""SLA deadlines in the store: the inbox's policy, the conversation row's badge columns, the
report facts, and the alerts (timeline entry and notifications) when one is at risk or
breached. The deadlines themselves are planned by the pure :mod:`inbox.sla` and kept by the
conversation workflow (``workflows/sla.py``).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox import sla
from inbox.contracts import (
    BusinessHours,
    Clocks,
    SlaDeadline,
    SlaPolicy,
    SlaStage,
    SlaTarget,
    as_utc,
)
from inbox.models import ContactEvent, Conversation, EventKind, Inbox, NotificationKind, User
from inbox.reporting.facts import FactKind, record
from inbox.services.conversations import log_change, publish_change
from inbox.services.notifications import inbox_managers, notify

LABELS = {
    SlaTarget.FIRST_RESPONSE: "First response",
    SlaTarget.NEXT_RESPONSE: "Next response",
    SlaTarget.RESOLUTION: "Resolution",
}
# Short forms for the list's badge (web/templating.py).
SHORT = {
    SlaTarget.FIRST_RESPONSE: "First reply",
    SlaTarget.NEXT_RESPONSE: "Reply",
    SlaTarget.RESOLUTION: "Resolve",
}


def policy_of(inbox: Inbox) -> SlaPolicy | None:
    """The inbox's SLA policy (None when it sets no target)."""
    targets = (
        inbox.sla_first_response_minutes,
        inbox.sla_next_response_minutes,
        inbox.sla_resolution_minutes,
    )
    if not any(targets):
        return None
    return SlaPolicy(
        *targets,
        business_hours=bool(inbox.sla_business_hours),
        hours=BusinessHours.of(inbox),
    )


def track(
    session: Session,
    conversation: Conversation,
    clocks: Clocks,
    running: list[SlaDeadline],
    at: datetime,
) -> list[SlaDeadline]:
    """The clocks became ``clocks`` at ``at``: start, keep or end the conversation's deadlines,
    record each one that ended in time for the reports, and write the row's badge columns.
    Returns the deadlines that run now (no commit)."""
    kept, ended = sla.plan(clocks, running, policy_of(conversation.inbox), at)
    for done in ended:
        if done.met:
            record(session, conversation=conversation, kind=FactKind.SLA_MET,
                   key=done.deadline.key, at=done.at,
                   seconds=_seconds(done.deadline.started_at, done.at))  # fmt: skip
    show(conversation, kept)
    return kept


def show(conversation: Conversation, deadlines: list[SlaDeadline]) -> None:
    """Write the deadline due first to the row (the list's order and badge)."""
    first = sla.soonest(deadlines)
    conversation.sla_target = first.target if first is not None else None
    conversation.sla_at_risk_at = first.at_risk_at if first is not None else None
    conversation.sla_due_at = first.due_at if first is not None else None


def alert(
    session: Session, conversation: Conversation, deadline: SlaDeadline, stage: str, now: datetime
) -> bool:
    """Deadline ``deadline`` reached ``stage``: a timeline entry, a notification to the assignee
    (and, on a breach, to their manager, or the inbox's managers when nobody is assigned), and
    a breach fact for the reports. Once per deadline and stage (False when already done, as a
    retried step finds it); no commit."""
    key = f"{deadline.key}:{stage}"
    done = session.scalar(
        select(ContactEvent.id).where(
            ContactEvent.conversation_id == conversation.id,
            ContactEvent.kind == EventKind.SLA,
            ContactEvent.data["alert"].as_string() == key,
        )
    )
    if done is not None:
        return False
    text = describe(conversation, deadline, stage)
    event = log_change(session, conversation, EventKind.SLA, text, actor_id=None, automation=None,
                       data={"alert": key, "target": deadline.target, "stage": stage,
                             "due_at": as_utc(deadline.due_at).isoformat()})  # fmt: skip
    for user in _told(session, conversation, stage):
        notify(session, user=user, text=f"{text} ({_who(conversation)})",
               conversation=conversation, kind=NotificationKind.SLA)  # fmt: skip
    if stage == SlaStage.BREACHED:
        record(session, conversation=conversation, kind=FactKind.SLA_BREACHED, key=deadline.key,
               at=deadline.due_at, seconds=_seconds(deadline.started_at, now))  # fmt: skip
    publish_change(session, conversation, event, {"sla_stage": stage})
    return True


def describe(conversation: Conversation, deadline: SlaDeadline, stage: str) -> str:
    """ "First response at risk: due at 10:15" / "First response SLA breached (due at 10:15)"."""
    label = LABELS[SlaTarget(deadline.target)]
    due = local_time(conversation, deadline.due_at)
    if stage == SlaStage.AT_RISK:
        return f"{label} at risk: due at {due}"
    return f"{label} SLA breached (due at {due})"


def local_time(conversation: Conversation, at: datetime) -> str:
    """``at`` in the inbox's time zone: "10:15", or "Mon 7 Dec 10:15" on another day."""
    try:
        zone = ZoneInfo(conversation.inbox.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = as_utc(at).astimezone(zone)
    return f"{local.strftime('%a')} {local.day} {local.strftime('%b %H:%M')}"


def _told(session: Session, conversation: Conversation, stage: str) -> list[User]:
    assignee = conversation.assignee
    told: list[User] = [assignee] if assignee is not None and assignee.is_active else []
    if stage == SlaStage.BREACHED:
        if assignee is not None and assignee.manager is not None and assignee.manager.is_active:
            told.append(assignee.manager)
        elif assignee is None:
            told.extend(inbox_managers(session, conversation.inbox))
    elif not told:
        told.extend(inbox_managers(session, conversation.inbox))
    return list({user.id: user for user in told}.values())


def _who(conversation: Conversation) -> str:
    contact = conversation.contact
    return contact.name or conversation.contact_number


def _seconds(start: datetime, end: datetime) -> int:
    return max(0, int((as_utc(end) - as_utc(start)).total_seconds()))
