"""Business hours of an inbox: ``{"mon": [["09:00", "17:00"]], ...}`` in the inbox's time zone.

An empty schedule means always open. Pure functions: ``now`` is passed in.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _spans(schedule: dict[str, Any], day: str) -> list[tuple[time, time]]:
    spans = []
    for span in schedule.get(day) or []:
        start, end = (time.fromisoformat(str(part)) for part in span)
        spans.append((start, end))
    return spans


def is_open(schedule: dict[str, Any], timezone: str | None, now: datetime) -> bool:
    """Whether ``now`` falls inside the schedule (always true for an empty schedule)."""
    if not schedule:
        return True
    local = now.astimezone(_zone(timezone))
    day = DAYS[local.weekday()]
    return any(start <= local.time() < end for start, end in _spans(schedule, day))


def next_open(schedule: dict[str, Any], timezone: str | None, now: datetime) -> datetime | None:
    """When the inbox next opens (``now`` if open now; None if the schedule has no hours)."""
    if is_open(schedule, timezone, now):
        return now
    local = now.astimezone(_zone(timezone))
    for offset in range(8):
        date = (local + timedelta(days=offset)).date()
        for start, _end in sorted(_spans(schedule, DAYS[date.weekday()])):
            candidate = datetime.combine(date, start, tzinfo=local.tzinfo)
            if candidate > local:
                return candidate
    return None


def describe_next_open(schedule: dict[str, Any], timezone: str | None, now: datetime) -> str:
    """Human text for templates: ``"now"``, ``"today at 9:00"``, ``"Monday at 9:00"``."""
    opens = next_open(schedule, timezone, now)
    if opens is None:
        return "soon"
    if opens == now:
        return "now"
    local_now = now.astimezone(opens.tzinfo)
    clock = f"{opens.hour}:{opens.minute:02d}"
    if opens.date() == local_now.date():
        return f"today at {clock}"
    if opens.date() == local_now.date() + timedelta(days=1):
        return f"tomorrow at {clock}"
    return f"{opens.strftime('%A')} at {clock}"


def is_business_day(schedule: dict[str, Any], day: str) -> bool:
    """Whether the inbox opens at all on ``day`` (``"mon"`` …); every day without a schedule."""
    return not schedule or bool(_spans(schedule, day))


def add_business_days(
    schedule: dict[str, Any], timezone: str | None, start: datetime, days: int
) -> datetime:
    """The moment ``days`` business days after ``start`` (the same local time on the
    ``days``-th later day the inbox opens; with no schedule, every day counts)."""
    zone = _zone(timezone)
    local = start.astimezone(zone)
    counted = 0
    while counted < days:
        local = (local + timedelta(days=1)).replace(tzinfo=zone)
        if is_business_day(schedule, DAYS[local.weekday()]):
            counted += 1
    return local
