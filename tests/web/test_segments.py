"""Segment counting as carriers count it (the browser counter is held to the same cases)."""

from __future__ import annotations

import pytest

from web.segments import count_segments, is_gsm7


@pytest.mark.parametrize(
    ("body", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # extension table: two septets each
        ("{" * 81, "GSM-7", 162, 2),
        ("a" * 152 + "[", "GSM-7", 154, 1),
        ("a" * 152 + "[" + "a" * 7, "GSM-7", 161, 2),
        ("é" * 160, "GSM-7", 160, 1),  # é is in the basic table
        ("ê", "UCS-2", 1, 1),  # ê is not
        ("ê" * 70, "UCS-2", 70, 1),
        ("ê" * 71, "UCS-2", 71, 2),
        ("ê" * 134, "UCS-2", 134, 2),
        ("ê" * 135, "UCS-2", 135, 3),
        ("😀" * 35, "UCS-2", 70, 1),  # a surrogate pair is two units
        ("😀" * 36, "UCS-2", 72, 2),
    ],
)
def test_count(body: str, encoding: str, units: int, segments: int) -> None:
    result = count_segments(body)
    assert (result.encoding, result.units, result.segments) == (encoding, units, segments)


def test_an_escaped_character_is_never_split_across_segments() -> None:
    # 152 plain septets then "[" (2): the second segment would hold 153 if split naively.
    body = "a" * 152 + "[" + "a" * 153
    assert count_segments(body).segments == 3


def test_a_surrogate_pair_is_never_split() -> None:
    assert count_segments("a" * 66 + "😀" + "a" * 67).segments == 3


def test_gsm7_detection() -> None:
    assert is_gsm7("Hello @ £5 {ok}")
    assert not is_gsm7("Hello “quoted”")
