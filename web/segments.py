"""SMS segment counting, as carriers count it.

A message that fits the GSM 03.38 7-bit alphabet travels as GSM-7: 160 septets in one segment,
153 per segment once it is split (the user-data header takes the rest). Characters from the
extension table (``^ { } [ ] ~ | € \\ form feed``) take two septets (escape + char) and are never
split across segments. Anything else forces UCS-2 for the whole message: 70 UTF-16 code units in
one segment, 67 per segment when split, and a surrogate pair (an emoji) is never split either.
``web/static/app.js`` implements the same rules for the live counter; the tests hold both to it.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "^{}\\[~]|€\f"

_BASIC = frozenset(GSM7_BASIC)
_EXTENSION = frozenset(GSM7_EXTENSION)


@dataclass(frozen=True)
class SegmentCount:
    """How a body would travel: its encoding, its length in units, and the segments it takes."""

    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int
    per_segment: int  # units one segment holds at this length (160/153 or 70/67)
    remaining: int  # units left in the last segment


def is_gsm7(body: str) -> bool:
    """True when every character is in the GSM-7 basic or extension table."""
    return all(ch in _BASIC or ch in _EXTENSION for ch in body)


def _pack(sizes: list[int], single: int, multi: int) -> tuple[int, int]:
    """Segments needed for characters of ``sizes`` units each, never splitting a character."""
    total = sum(sizes)
    if total <= single:
        return (1 if total else 0), single - total
    segments, used = 1, 0
    for size in sizes:
        if used + size > multi:
            segments, used = segments + 1, 0
        used += size
    return segments, multi - used


def count_segments(body: str) -> SegmentCount:
    """Count the segments ``body`` takes. An empty body takes zero segments."""
    if is_gsm7(body):
        sizes = [2 if ch in _EXTENSION else 1 for ch in body]
        segments, remaining = _pack(sizes, 160, 153)
        per = 160 if segments <= 1 else 153
        return SegmentCount("GSM-7", sum(sizes), segments, per, remaining)
    sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in body]
    segments, remaining = _pack(sizes, 70, 67)
    per = 70 if segments <= 1 else 67
    return SegmentCount("UCS-2", sum(sizes), segments, per, remaining)
