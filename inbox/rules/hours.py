"""Business hours of an inbox: ``{"mon": [["09:00", "17:00"]], ...}`` in the inbox's time zone,
and its holidays: ISO dates (``"2026-12-25"``) on which it is closed all day, local time.

An empty schedule means always open, except on a holiday. Pure functions: ``now`` is passed in.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import UTC, date, datetime, time, timedelta
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


def _day_spans(schedule: dict[str, Any], day: date) -> list[tuple[time, time]]:
    """The open spans on the local date ``day``, earliest first (all day without a schedule)."""
    if not schedule:
        return [(time.min, time.max)]
    return sorted(_spans(schedule, DAYS[day.weekday()]))


def is_open(
    schedule: dict[str, Any],
    timezone: str | None,
    now: datetime,
    holidays: Collection[str] = (),
) -> bool:
    """Whether ``now`` falls inside the schedule and not on a holiday (an empty schedule is
    open at every other moment)."""
    local = now.astimezone(_zone(timezone))
    if local.date().isoformat() in holidays:
        return False
    return any(start <= local.time() < end for start, end in _day_spans(schedule, local.date()))


def next_open(
    schedule: dict[str, Any],
    timezone: str | None,
    now: datetime,
    holidays: Collection[str] = (),
) -> datetime | None:
    """When the inbox next opens (``now`` if open now; None if the schedule has no hours).
    Holidays are skipped: the search runs to a full week past the last holiday to come."""
    if is_open(schedule, timezone, now, holidays):
        return now
    local = now.astimezone(_zone(timezone))
    today = local.date()
    last = max((h for h in holidays if h >= today.isoformat()), default=today.isoformat())
    for offset in range((date.fromisoformat(last) - today).days + 8):
        day = today + timedelta(days=offset)
        if day.isoformat() in holidays:
            continue
        for start, _end in _day_spans(schedule, day):
            candidate = datetime.combine(day, start, tzinfo=local.tzinfo)
            if candidate > local:
                return candidate
    return None


def describe_next_open(
    schedule: dict[str, Any],
    timezone: str | None,
    now: datetime,
    holidays: Collection[str] = (),
) -> str:
    """Human text for templates: ``"now"``, ``"today at 9:00"``, ``"Monday at 9:00"``."""
    opens = next_open(schedule, timezone, now, holidays)
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
    schedule: dict[str, Any],
    timezone: str | None,
    start: datetime,
    days: int,
    holidays: Collection[str] = (),
) -> datetime:
    """The moment ``days`` business days after ``start`` (the same local time on the
    ``days``-th later day the inbox opens, holidays not counted; with no schedule, every day
    but a holiday counts)."""
    zone = _zone(timezone)
    local = start.astimezone(zone)
    counted = 0
    while counted < days:
        local = (local + timedelta(days=1)).replace(tzinfo=zone)
        if local.date().isoformat() in holidays:
            continue
        if is_business_day(schedule, DAYS[local.weekday()]):
            counted += 1
    return local


# How far ahead open time is looked for: a schedule with no open span in this many days (every
# listed day empty, or holidays back to back) counts as never open, and plain time is used.
_SEARCH_DAYS = 3 * 366


def _open_spans(
    schedule: dict[str, Any], timezone: str | None, start: datetime, holidays: Collection[str]
) -> Iterator[tuple[datetime, datetime]]:
    """The inbox's open spans from the local day of ``start`` on, as UTC ``(from, to)`` pairs,
    earliest first; a span that ends at midnight ends at the next day's start."""
    zone = _zone(timezone)
    first = start.astimezone(zone).date()
    for offset in range(_SEARCH_DAYS):
        day = first + timedelta(days=offset)
        if day.isoformat() in holidays:
            continue
        for span_start, span_end in _day_spans(schedule, day):
            opens = datetime.combine(day, span_start, tzinfo=zone)
            closes = (
                datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
                if span_end == time.max
                else datetime.combine(day, span_end, tzinfo=zone)
            )
            yield opens.astimezone(UTC), closes.astimezone(UTC)


def add_open_time(
    schedule: dict[str, Any],
    timezone: str | None,
    start: datetime,
    seconds: float,
    holidays: Collection[str] = (),
) -> datetime:
    """The moment after ``start`` when the inbox has been open for ``seconds`` (2 business
    hours from Friday 16:00, open 9-17 on weekdays, end on Monday at 10:00). Without a schedule
    every moment counts except a holiday's; a schedule that never opens counts plain time."""
    left = timedelta(seconds=seconds)
    cursor = start.astimezone(UTC)
    for opens, closes in _open_spans(schedule, timezone, cursor, holidays):
        if closes <= cursor:
            continue
        begin = max(opens, cursor)
        if begin + left <= closes:
            return begin + left
        left -= closes - begin
        cursor = closes
    return start.astimezone(UTC) + timedelta(seconds=seconds)


def open_seconds_between(
    schedule: dict[str, Any],
    timezone: str | None,
    start: datetime,
    end: datetime,
    holidays: Collection[str] = (),
) -> int:
    """How many seconds of ``[start, end)`` the inbox was open (every second without a
    schedule, holidays aside): the business-hours variant of a wait."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    total = timedelta(0)
    for opens, closes in _open_spans(schedule, timezone, start, holidays):
        if opens >= end:
            break
        overlap = min(closes, end) - max(opens, start)
        if overlap > timedelta(0):
            total += overlap
    return int(total.total_seconds())
