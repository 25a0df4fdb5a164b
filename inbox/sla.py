"""SLA deadlines from a conversation's clocks and its inbox's policy (pure: no I/O).

A conversation has at most one running deadline per target:

- **first response**: from the contact's first message until a person's first reply;
- **next response**: from the contact's first message after a person's reply until the next
  reply (the first response stays the first target's);
- **resolution**: from the contact's first message, or a reopening, until the close.

A deadline is fixed when its clock starts: ``due_at`` is the target's minutes later (open
minutes when the policy counts business hours), ``at_risk_at`` at 80 % of them. It ends when
its condition is met (then it counts as met, if not breached by then), or when the
conversation is closed or marked spam (a response target then ends unmet and uncounted). A
change of the policy or a move to another inbox leaves running deadlines as they are; the next
one starts from the policy then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from inbox.contracts import (
    Clocks,
    SlaDeadline,
    SlaPolicy,
    SlaStage,
    SlaTarget,
    as_utc,
)
from inbox.rules.hours import add_open_time

AT_RISK_FRACTION = 0.8


@dataclass(frozen=True)
class Ended:
    """A deadline that ended: ``met`` when its condition was met in time."""

    deadline: SlaDeadline
    at: datetime
    met: bool


def _after(at: datetime, policy: SlaPolicy, minutes: float) -> datetime:
    if policy.business_hours and policy.hours is not None:
        hours = policy.hours
        return add_open_time(hours.schedule, hours.timezone, at, minutes * 60, hours.holidays)
    return as_utc(at) + timedelta(minutes=minutes)


def start(target: SlaTarget, at: datetime, policy: SlaPolicy) -> SlaDeadline | None:
    """A new deadline for ``target`` whose clock starts at ``at`` (None without a target)."""
    minutes = policy.minutes(target)
    if not minutes:
        return None
    return SlaDeadline(
        target=target,
        started_at=as_utc(at),
        at_risk_at=_after(at, policy, minutes * AT_RISK_FRACTION),
        due_at=_after(at, policy, minutes),
    )


def _awaiting(clocks: Clocks) -> bool:
    """The contact's last message has no reply from a person yet."""
    if clocks.last_inbound_at is None:
        return False
    return clocks.last_response_at is None or as_utc(clocks.last_inbound_at) > as_utc(
        clocks.last_response_at
    )


def _wanted(clocks: Clocks, now: datetime) -> dict[SlaTarget, datetime]:
    """The targets whose clock runs with these clocks, each with when it would have started."""
    if clocks.closed_at is not None or clocks.first_inbound_at is None:
        return {}
    wanted = {SlaTarget.RESOLUTION: now}
    if clocks.first_response_at is None:
        wanted[SlaTarget.FIRST_RESPONSE] = as_utc(clocks.first_inbound_at)
    elif _awaiting(clocks):
        assert clocks.last_inbound_at is not None
        # Started only when it is not running already: then this is the first unanswered one.
        wanted[SlaTarget.NEXT_RESPONSE] = as_utc(clocks.last_inbound_at)
    return wanted


def plan(
    clocks: Clocks,
    running: list[SlaDeadline],
    policy: SlaPolicy | None,
    now: datetime,
) -> tuple[list[SlaDeadline], list[Ended]]:
    """The deadlines that run after the clocks became ``clocks`` (kept, started or none), and
    those that ended. ``now`` is when the event that changed them happened (not when it was
    applied): a resolution clock starts then (the first message, or the reopening)."""
    wanted = _wanted(clocks, now)
    kept: list[SlaDeadline] = []
    ended: list[Ended] = []
    for deadline in running:
        if SlaTarget(deadline.target) in wanted:
            kept.append(deadline)
            continue
        met = _met(deadline, clocks)
        ended.append(Ended(deadline, now, met and deadline.stage != SlaStage.BREACHED))
    targets = {SlaTarget(deadline.target) for deadline in kept}
    if policy is not None:
        for target, started in wanted.items():
            if target in targets:
                continue
            new = start(target, started, policy)
            if new is not None:
                kept.append(new)
    kept.sort(key=lambda deadline: (deadline.due_at, deadline.target))
    return kept, ended


def _met(deadline: SlaDeadline, clocks: Clocks) -> bool:
    """Whether the deadline ended because what it waited for happened (a reply, a close), not
    because the conversation was closed or marked spam under it."""
    target = SlaTarget(deadline.target)
    if target is SlaTarget.RESOLUTION:
        return clocks.closed_at is not None and clocks.time_to_close_seconds is not None
    return clocks.last_response_at is not None and as_utc(clocks.last_response_at) >= as_utc(
        deadline.started_at
    )


def soonest(deadlines: list[SlaDeadline]) -> SlaDeadline | None:
    """The deadline the list and cards show and sort by: the one due first."""
    return min(deadlines, key=lambda deadline: deadline.due_at, default=None)
