"""Provider form values cut to what their columns hold, so a long field is stored (shortened)
instead of failing the insert with a 5xx; Twilio does not retry a webhook it got a 5xx for
with the same data, so a refused callback would be a lost one.

(NUL and other characters the database refuses are replaced for every statement, see
:mod:`inbox.text`; this module is only about lengths.)
"""

from __future__ import annotations

from inbox.models import Message

# The columns a status callback writes (EarlyStatusReport has the same lengths).
ERROR_CODE_CHARS: int = Message.__table__.c.error_code.type.length  # type: ignore[attr-defined]


def bounded(value: str | None, limit: int) -> str | None:
    """``value`` stripped and cut to ``limit`` characters; None when empty."""
    value = (value or "").strip()
    return value[:limit] or None


def error_fields(code: str | None, message: str | None) -> tuple[str | None, str | None]:
    """A status callback's ``ErrorCode`` and ``ErrorMessage`` as they can be stored: the code
    cut to its column (the whole code is kept in the message, which has no limit)."""
    full_code = (code or "").strip() or None
    stored_code = bounded(full_code, ERROR_CODE_CHARS)
    text = (message or "").strip() or None
    if text is None and full_code is not None:
        text = f"provider error {full_code}"
    elif text is not None and full_code is not None and stored_code != full_code:
        text = f"{text} (provider error {full_code})"
    return stored_code, text
