"""Helpers for CLI tests: free ports, and settings read fresh from a patched environment."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from inbox.settings import get_settings


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def dev_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    """INBOX_* variables for a private data folder and free ports; ``get_settings`` re-reads."""
    env = {
        "INBOX_DATA_DIR": str(tmp_path / "data"),
        "INBOX_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "INBOX_TEMPORAL_UI_PORT": str(free_port()),
        "INBOX_WEB_PORT": str(free_port()),
    }
    monkeypatch.delenv("INBOX_DATABASE_URL", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()
