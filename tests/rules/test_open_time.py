"""Business time: adding open hours to a moment (``add_open_time``: SLA targets and
``wait: … business: true``) and counting the open seconds between two (``open_seconds_between``:
the business-hours variant of a report's time figures). Expected values worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from inbox.rules import hours

NY = "America/New_York"
WEEKDAYS = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
SPLIT = {"mon": [["13:00", "17:00"], ["09:00", "12:00"]]}  # listed out of order on purpose


def _ny(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ZoneInfo(NY))


def test_two_business_hours_from_friday_16_00_end_monday_10_00() -> None:
    friday = _ny(12, 4, 16)
    assert hours.add_open_time(WEEKDAYS, NY, friday, 2 * 3600) == _ny(12, 7, 10)
    # With Monday a holiday it ends on Tuesday; counted back, the open time is the same.
    ends = hours.add_open_time(WEEKDAYS, NY, friday, 2 * 3600, ["2026-12-07"])
    assert ends == _ny(12, 8, 10)
    assert hours.open_seconds_between(WEEKDAYS, NY, friday, ends, ["2026-12-07"]) == 2 * 3600


def test_a_start_outside_hours_counts_from_the_next_opening() -> None:
    saturday = _ny(12, 5, 11)
    assert hours.add_open_time(WEEKDAYS, NY, saturday, 15 * 60) == _ny(12, 7, 9, 15)
    assert hours.open_seconds_between(WEEKDAYS, NY, saturday, _ny(12, 7, 9, 15)) == 15 * 60
    # Zero business time from a closed moment is the next opening.
    assert hours.add_open_time(WEEKDAYS, NY, saturday, 0) == _ny(12, 7, 9)


def test_split_spans_and_the_lunch_break() -> None:
    monday_11 = _ny(12, 7, 11)
    # 1 h before lunch, then 1 h 30 from 13:00.
    assert hours.add_open_time(SPLIT, NY, monday_11, 2.5 * 3600) == _ny(12, 7, 14, 30)
    # Past Monday's last span it is next Monday (no other day opens).
    assert hours.add_open_time(SPLIT, NY, _ny(12, 7, 16), 2 * 3600) == _ny(12, 14, 10)
    assert hours.open_seconds_between(SPLIT, NY, _ny(12, 7, 8), _ny(12, 7, 18)) == 7 * 3600


def test_no_schedule_counts_every_minute_but_a_holidays() -> None:
    start = datetime(2026, 12, 24, 22, 0, tzinfo=UTC)
    assert hours.add_open_time({}, "UTC", start, 3600) == start + timedelta(hours=1)
    # Christmas Day does not count: 3 h from 22:00 on the 24th end at 01:00 on the 26th (2 h
    # end at midnight, as the holiday begins).
    assert hours.add_open_time({}, "UTC", start, 7200, ["2026-12-25"]) == start + timedelta(hours=2)
    assert hours.add_open_time({}, "UTC", start, 3 * 3600, ["2026-12-25"]) == datetime(
        2026, 12, 26, 1, 0, tzinfo=UTC
    )
    assert hours.open_seconds_between({}, "UTC", start, start + timedelta(days=2)) == 48 * 3600


def test_a_schedule_that_never_opens_counts_plain_time() -> None:
    start = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    never = {"mon": []}
    assert hours.add_open_time(never, "UTC", start, 600) == start + timedelta(minutes=10)
    assert hours.open_seconds_between(never, "UTC", start, start + timedelta(days=1)) == 0


def test_daylight_saving_change_keeps_local_opening_hours() -> None:
    # US clocks went forward on Sunday 8 March 2026: Friday 16:00 EST + 2 h = Monday 10:00 EDT.
    ends = hours.add_open_time(WEEKDAYS, NY, _ny(3, 6, 16), 2 * 3600)
    assert ends == _ny(3, 9, 10)
    assert ends.utcoffset() == timedelta(0)  # given back in UTC
    assert ends.astimezone(ZoneInfo(NY)).hour == 10
