"""E.164 normalisation."""

import pytest

from inbox.phone import InvalidNumber, normalize_number


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("(415) 555-2671", "+14155552671"),
        ("+1 415 555 2671", "+14155552671"),
        ("415.555.2671 ", "+14155552671"),
        ("+44 20 7183 8750", "+442071838750"),
    ],
)
def test_normalises_to_e164(raw, e164):
    assert normalize_number(raw) == e164


def test_uk_number_without_plus_with_region():
    assert normalize_number("020 7183 8750", "GB") == "+442071838750"


@pytest.mark.parametrize("raw", ["", "   ", "hello", "12", "+1415555267"])
def test_rejects_what_is_not_a_number_with_a_clear_message(raw):
    with pytest.raises(InvalidNumber, match="phone number"):
        normalize_number(raw)
