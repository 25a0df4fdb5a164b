"""The template filters that turn times into words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from web.templating import ago, since

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_ago_is_short_for_lists() -> None:
    assert ago(NOW - timedelta(seconds=5), NOW) == "now"
    assert ago(NOW - timedelta(minutes=5), NOW) == "5m"
    assert ago(NOW - timedelta(hours=3), NOW) == "3h"
    assert ago(NOW - timedelta(days=2), NOW) == "2d"
    assert ago(NOW - timedelta(days=9), NOW) == "Mar 1"
    assert ago(None, NOW) == ""


def test_since_reads_as_prose_never_now_ago() -> None:
    assert since(NOW - timedelta(seconds=5), NOW) == "just now"
    assert since(NOW - timedelta(minutes=5), NOW) == "5m ago"
    assert since(NOW - timedelta(days=2), NOW) == "2d ago"
    assert since(NOW - timedelta(days=9), NOW) == "on Mar 1"
    assert since(None, NOW) == ""
