"""Near-miss suggestions for error messages: `` (did you mean 'wait'?)``."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


def did_you_mean(word: Any, options: Iterable[str]) -> str:
    """`` (did you mean 'wait'?)`` when something close exists, else ``""``."""
    near = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return f" (did you mean '{near[0]}'?)" if near else ""
