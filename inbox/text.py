"""Text as the database can store it.

PostgreSQL refuses the NUL character in text and in JSON (SQLite stores it, and then every
tool that reads the file cuts the string there). A NUL in an SMS, a form or an API field is
never worth losing the rest of the value for, so it is replaced with U+FFFD (the Unicode
replacement character) before anything is written: see :func:`inbox.db.make_engine`, which
applies this to every statement's parameters, so no route or service has to remember it.
"""

from __future__ import annotations

import json
from typing import Any

NUL = "\x00"
REPLACEMENT = "\ufffd"


def without_nul(value: str) -> str:
    """``value`` with every NUL replaced by U+FFFD."""
    return value.replace(NUL, REPLACEMENT) if NUL in value else value


def clean(value: Any) -> Any:
    """``value`` with NUL replaced in every string inside it (dict keys included)."""
    if isinstance(value, str):
        return without_nul(value)
    if isinstance(value, dict):
        return {clean(key): clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(clean(item) for item in value)
    return value


def dumps(value: Any) -> str:
    """JSON for a JSON column, with NUL replaced (``\\u0000`` is what PostgreSQL refuses)."""
    return json.dumps(clean(value))


def clean_parameters(parameters: Any) -> Any:
    """A statement's parameters (a dict, a sequence, or a list of either for executemany)
    with NUL replaced in their strings; the same object when there is none, so the common
    case allocates nothing."""
    if isinstance(parameters, dict):
        if any(isinstance(v, str) and NUL in v for v in parameters.values()):
            return {k: without_nul(v) if isinstance(v, str) else v for k, v in parameters.items()}
        return parameters
    if isinstance(parameters, tuple):
        if any(isinstance(v, str) and NUL in v for v in parameters):
            return tuple(without_nul(v) if isinstance(v, str) else v for v in parameters)
        return parameters
    if isinstance(parameters, list):
        return [clean_parameters(item) for item in parameters]
    return parameters
