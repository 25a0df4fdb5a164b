"""Durations as rule authors write them: ``90s``, ``15m``, ``4h``, ``3d``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")

DURATION_HINT = "use a whole number and a unit: 90s, 15m, 4h, 3d"


class InvalidDuration(ValueError):
    """A duration that does not follow the ``<number><unit>`` form."""


def parse_duration(text: str | int) -> timedelta:
    """Parse ``"15m"`` into ``timedelta(minutes=15)``. A bare integer means seconds."""
    if isinstance(text, bool):
        raise InvalidDuration(f"{text!r} is not a duration ({DURATION_HINT})")
    if isinstance(text, int):
        if text < 0:
            raise InvalidDuration(f"{text!r} is not a duration ({DURATION_HINT})")
        return timedelta(seconds=text)
    match = _PATTERN.match(str(text))
    if not match:
        raise InvalidDuration(f"{text!r} is not a valid duration ({DURATION_HINT})")
    amount, unit = int(match.group(1)), match.group(2)
    return timedelta(seconds=amount * _UNITS[unit])


def format_duration(delta: timedelta) -> str:
    """The shortest exact form: ``timedelta(hours=4)`` -> ``"4h"``."""
    seconds = int(delta.total_seconds())
    for unit in ("d", "h", "m"):
        if seconds and seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"
