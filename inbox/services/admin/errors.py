"""The one error the settings services raise for a refused change."""

from __future__ import annotations


class SettingsError(ValueError):
    """A settings change refused, with a message naming the field at fault (``field``)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
