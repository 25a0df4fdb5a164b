"""Quiet hours: the window in the contact's zone, stricter states, numbers spanning zones."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from inbox.consent.quiet_hours import QuietHours, contact_zones, held_until, us_state

HOURS = QuietHours()
NEW_YORK = ZoneInfo("America/New_York")
DC = "+12025550143"  # Washington D.C.: America/New_York, no state window
MIAMI = "+13055550100"  # Florida: 08:00-20:00
SAN_FRANCISCO = "+14155550100"
ALASKA = "+19075550100"  # America/Anchorage and America/Adak
TOLL_FREE = "+18005550100"  # dozens of zones: none of them tells


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)


def test_inside_the_window_nothing_is_held() -> None:
    assert held_until(local(NEW_YORK, 2026, 12, 1, 8, 0), DC, HOURS) is None
    assert held_until(local(NEW_YORK, 2026, 12, 1, 20, 59), DC, HOURS) is None


def test_a_late_text_waits_for_eight_the_next_morning() -> None:
    at = held_until(local(NEW_YORK, 2026, 12, 1, 22, 30), DC, HOURS)
    assert at == local(NEW_YORK, 2026, 12, 2, 8, 0)
    early = held_until(local(NEW_YORK, 2026, 12, 1, 6, 15), DC, HOURS)
    assert early == local(NEW_YORK, 2026, 12, 1, 8, 0)


def test_florida_ends_at_eight_in_the_evening() -> None:
    assert us_state(MIAMI) == "FL"
    assert held_until(local(NEW_YORK, 2026, 12, 1, 19, 59), MIAMI, HOURS) is None
    assert held_until(local(NEW_YORK, 2026, 12, 1, 20, 30), MIAMI, HOURS) == local(
        NEW_YORK, 2026, 12, 2, 8, 0
    )


def test_the_contacts_own_zone_comes_first() -> None:
    # A New York number whose contact lives in Los Angeles: 22:00 in New York is 19:00 there.
    la = ZoneInfo("America/Los_Angeles")
    assert held_until(local(NEW_YORK, 2026, 12, 1, 22, 0), DC, HOURS, contact_zone=la.key) is None


def test_a_number_in_two_zones_waits_for_both() -> None:
    zones = {zone.key for zone in contact_zones(ALASKA, None, None)}
    assert zones == {"America/Anchorage", "America/Adak"}
    # 08:00 in Anchorage is 07:00 in Adak: not yet.
    anchorage = ZoneInfo("America/Anchorage")
    at = held_until(local(anchorage, 2026, 12, 1, 8, 0), ALASKA, HOURS)
    assert at == local(ZoneInfo("America/Adak"), 2026, 12, 1, 8, 0)


def test_a_number_that_is_everywhere_uses_the_inbox_zone() -> None:
    assert [z.key for z in contact_zones(TOLL_FREE, None, "Europe/Paris")] == ["Europe/Paris"]
    assert [z.key for z in contact_zones(SAN_FRANCISCO, None, "Europe/Paris")] == [
        "America/Los_Angeles"
    ]


def test_settings_change_the_window() -> None:
    narrow = QuietHours(start=time(9, 0), end=time(17, 0), states={})
    at = held_until(datetime(2026, 12, 1, 13, 0, tzinfo=UTC), DC, narrow)  # 08:00 in NY
    assert at == local(NEW_YORK, 2026, 12, 1, 9, 0)
    assert held_until(local(NEW_YORK, 2026, 12, 1, 20, 30), MIAMI, narrow) == local(
        NEW_YORK, 2026, 12, 2, 9, 0
    )


def test_a_window_that_starts_when_it_ends_holds_nothing() -> None:
    always = QuietHours(start=time(0, 0), end=time(0, 0), states={})
    assert held_until(local(NEW_YORK, 2026, 12, 1, 3, 0), DC, always) is None
