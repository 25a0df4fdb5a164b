"""Limits of what the database can hold, shared by every edge that accepts input (JSON API,
web forms and paths, webhooks), so a value out of range is refused with a 4xx there instead of
failing in the database with a 5xx."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le

# Primary keys are PostgreSQL ``integer`` columns (SQLite's hold more, but must not be asked to:
# an id that only one backend could store is no id at all).
MAX_ID = 2**31 - 1
# Any other integer a request may carry (paging, counts) fits the same column type.
MAX_INT = 2**31 - 1

# An id in a path, query or body: pydantic and FastAPI refuse anything else with a 422.
DbId = Annotated[int, Ge(1), Le(MAX_ID)]


def parse_id(value: str | None) -> int | None:
    """A form or query value as an id, or None when it is not one the database could hold
    (empty, not digits, zero, or past :data:`MAX_ID`)."""
    text = (value or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None
