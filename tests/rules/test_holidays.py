"""Holidays in business hours: a listed date is closed all day in the inbox's time zone, and
``next_open`` skips it; the rule facts ``inbox.within_business_hours`` / ``inbox.next_open``
read the inbox's holidays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from inbox.rules import hours
from inbox.rules.snapshot import build_facts

NY = "America/New_York"
WEEKDAYS = {day: [["09:00", "16:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
MONDAY = "2026-12-07"  # 2026-12-04 is a Friday


def _ny(day: int, hour: int, minute: int = 0) -> datetime:
    """A December 2026 moment in New York, as UTC (as the workflow passes ``now``)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=ZoneInfo(NY)).astimezone(UTC)


def test_friday_16_00_with_monday_a_holiday_opens_tuesday_at_9() -> None:
    friday = _ny(4, 16)
    assert not hours.is_open(WEEKDAYS, NY, friday, [MONDAY])
    opens = hours.next_open(WEEKDAYS, NY, friday, [MONDAY])
    assert opens == datetime(2026, 12, 8, 9, 0, tzinfo=ZoneInfo(NY))
    assert hours.describe_next_open(WEEKDAYS, NY, friday, [MONDAY]) == "Tuesday at 9:00"
    # Without the holiday it opens on Monday.
    assert hours.describe_next_open(WEEKDAYS, NY, friday) == "Monday at 9:00"


def test_a_holiday_is_closed_all_day_in_the_inbox_time_zone() -> None:
    assert hours.is_open(WEEKDAYS, NY, _ny(7, 10))
    assert not hours.is_open(WEEKDAYS, NY, _ny(7, 10), [MONDAY])
    # Monday 22:00 in New York is already Tuesday in UTC: still the holiday, local time.
    late = _ny(7, 22)
    assert late.date().isoformat() == "2026-12-08"
    assert not hours.is_open({}, NY, late, [MONDAY])
    # Sunday 21:00 in New York is Monday in UTC: not the holiday.
    sunday = _ny(6, 21)
    assert sunday.date().isoformat() == MONDAY
    assert hours.is_open({}, NY, sunday, [MONDAY])
    # Without weekly hours the inbox opens at the next local midnight after the holiday.
    assert hours.next_open({}, NY, _ny(7, 10), [MONDAY]) == datetime(
        2026, 12, 8, 0, 0, tzinfo=ZoneInfo(NY)
    )
    assert hours.next_open({}, NY, _ny(7, 10)) == _ny(7, 10)  # and is open at every other time


def test_next_open_skips_a_run_of_holidays_longer_than_a_week() -> None:
    mondays = {"mon": [["09:00", "16:00"]]}
    closed = ["2026-12-07", "2026-12-14", "2026-12-21"]
    opens = hours.next_open(mondays, NY, _ny(4, 16), closed)
    assert opens == datetime(2026, 12, 28, 9, 0, tzinfo=ZoneInfo(NY))
    assert opens - _ny(4, 16) > timedelta(days=8)


def test_rule_facts_read_the_inbox_holidays(factory, session) -> None:
    inbox = factory.inbox(business_hours=WEEKDAYS, timezone=NY, holidays=[MONDAY])
    channel = factory.channel(default_inbox_id=inbox.id)
    conversation = factory.conversation(channel=channel)
    session.commit()
    facts = build_facts(session, conversation, _ny(4, 15))
    assert facts["inbox.within_business_hours"] is True
    facts = build_facts(session, conversation, _ny(4, 16))
    assert facts["inbox.within_business_hours"] is False
    assert facts["inbox.next_open"] == "Tuesday at 9:00"
    facts = build_facts(session, conversation, _ny(7, 10))
    assert facts["inbox.within_business_hours"] is False
    assert facts["inbox.next_open"] == "tomorrow at 9:00"


def test_business_days_do_not_count_a_holiday() -> None:
    # Two business days from Friday 10:00: Monday and Tuesday; with Monday a holiday, Wednesday.
    friday = _ny(4, 10)
    assert hours.add_business_days(WEEKDAYS, NY, friday, 2) == _ny(8, 10)
    assert hours.add_business_days(WEEKDAYS, NY, friday, 2, [MONDAY]) == _ny(9, 10)
