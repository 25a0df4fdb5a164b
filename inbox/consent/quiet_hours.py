"""Quiet hours: when automated and scheduled texts may reach a contact.

The allowed window is 08:00-21:00 in the contact's local time, with stricter windows for some
US states (Florida, Oklahoma and Maryland: 08:00-20:00), all set in Settings → Compliance. The
contact's time zone comes from the contact record, else from the number (``phonenumbers``;
where a number spans several zones, the window must be open in all of them), else from the
inbox. Pure functions: ``now`` is passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import geocoder
from phonenumbers import timezone as number_zones

DEFAULT_START = time(8, 0)
DEFAULT_END = time(21, 0)
# Florida's "mini-TCPA", and Oklahoma's and Maryland's after it: 8 a.m. to 8 p.m.
DEFAULT_STATE_WINDOWS: dict[str, tuple[time, time]] = {
    "FL": (time(8, 0), time(20, 0)),
    "OK": (time(8, 0), time(20, 0)),
    "MD": (time(8, 0), time(20, 0)),
}
# A number "in" more zones than this is not geographic (toll-free, mobile ranges that span the
# country): its zones say nothing, so the inbox's zone is used.
_MAX_NUMBER_ZONES = 4

_STATES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA",
    "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA",
    "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD",
    "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS",
    "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH",
    "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY", "North Carolina": "NC",
    "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA",
    "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD", "Tennessee": "TN",
    "Texas": "TX", "Utah": "UT", "Vermont": "VT", "Virginia": "VA", "Washington": "WA",
    "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY", "Washington D.C.": "DC",
}  # fmt: skip


@dataclass(frozen=True)
class QuietHours:
    """The allowed window, and the stricter ones of some US states (by two-letter code). A
    window whose start is its end means no quiet hours."""

    start: time = DEFAULT_START
    end: time = DEFAULT_END
    states: dict[str, tuple[time, time]] = field(
        default_factory=lambda: dict(DEFAULT_STATE_WINDOWS)
    )


def us_state(number: str) -> str | None:
    """The US state (two letters) a number's area code belongs to, when it says."""
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return None
    if parsed.country_code != 1:
        return None
    where = geocoder.description_for_number(parsed, "en")
    if where in _STATES:
        return _STATES[where]
    _city, _, code = where.rpartition(", ")
    return code if len(code) == 2 and code.isupper() else None


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def contact_zones(number: str, contact_zone: str | None, inbox_zone: str | None) -> list[ZoneInfo]:
    """The zones the contact may be in: the contact's own, else the number's (all of them),
    else the inbox's (UTC if none)."""
    own = _zone(contact_zone)
    if own is not None:
        return [own]
    try:
        names = number_zones.time_zones_for_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        names = ()
    zones = [zone for name in names if (zone := _zone(name)) is not None]
    if zones and len(zones) <= _MAX_NUMBER_ZONES:
        return zones
    return [_zone(inbox_zone) or ZoneInfo("UTC")]


def _window(hours: QuietHours, number: str) -> tuple[time, time]:
    state = us_state(number)
    return hours.states.get(state, (hours.start, hours.end)) if state else (hours.start, hours.end)


def _inside(at: datetime, zones: Sequence[ZoneInfo], window: tuple[time, time]) -> bool:
    start, end = window
    return all(start <= at.astimezone(zone).time() < end for zone in zones)


def held_until(
    now: datetime,
    number: str,
    hours: QuietHours,
    *,
    contact_zone: str | None = None,
    inbox_zone: str | None = None,
) -> datetime | None:
    """When a text due ``now`` may go: None if now is inside the window, else the next moment
    the window is open in every zone the contact may be in."""
    zones = contact_zones(number, contact_zone, inbox_zone)
    window = _window(hours, number)
    if window[0] == window[1] or _inside(now, zones, window):
        return None  # a window that starts when it ends: no quiet hours
    # The window opens at its start in one of the zones; try each zone's next openings.
    candidates = sorted(
        datetime.combine(now.astimezone(zone).date() + timedelta(days=offset), window[0], zone)
        for zone in zones
        for offset in range(3)
    )
    for candidate in candidates:
        if candidate > now and _inside(candidate, zones, window):
            return candidate
    return None  # the zones share no open hour: never hold forever
