"""The per-user choice of notification toasts, kept in ``User.preferences`` (on unless turned
off: a new user hears about what is addressed to them). The notification centre lists every
notification whatever the choice."""

from __future__ import annotations

from typing import Any

TOASTS_KEY = "notification_toasts"


def toasts_enabled(preferences: dict[str, Any] | None) -> bool:
    """Whether the user wants a toast when a notification arrives."""
    return (preferences or {}).get(TOASTS_KEY, True) is not False
