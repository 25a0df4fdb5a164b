"""Phone numbers in one form: E.164 (``+14155552671``), parsed with ``phonenumbers``."""

from __future__ import annotations

import phonenumbers


class InvalidNumber(ValueError):
    """The text is not a phone number we can store or text; ``field`` names the input it came
    from, when the caller said."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def normalize_number(raw: str, default_region: str = "US", *, field: str | None = None) -> str:
    """``raw`` in E.164; numbers without a ``+`` are read as numbers of ``default_region``.

    Called once, where a number enters (the inbound service for a provider's webhook and the
    simulator, the API's ``E164`` type, the web forms, the CLI, the CSV import): past that
    point every function takes E.164.

    Only the shape is checked (a possible length for the country), not whether the range is
    allocated: carriers deliver to new ranges before the metadata knows them, and test numbers
    such as ``555`` ones must work in the simulator.
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidNumber("phone number is empty", field)
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(f"{raw!r} is not a phone number: {exc}", field) from exc
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidNumber(
            f"{raw!r} is not a possible phone number (wrong length for its country)", field
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
