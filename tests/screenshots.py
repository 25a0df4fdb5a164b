"""Where the browser tests put their screenshots.

A run writes them to a folder of its own (``$TMPDIR/inbox-screenshots``), so running the suite
leaves the checkout clean. ``INBOX_SCREENSHOTS=docs/screenshots ./scripts/test -m browser``
refreshes the README's images on purpose."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from playwright.sync_api import Page


def folder() -> Path:
    chosen = os.environ.get("INBOX_SCREENSHOTS")
    path = Path(chosen) if chosen else Path(tempfile.gettempdir()) / "inbox-screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def shot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """Screenshot ``page`` as ``name``.png and return its path (look at it)."""
    path = folder() / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
