"""The production drill (``bench/drill.py``): two web and two worker processes on PostgreSQL
and the Temporal dev server, signed webhooks over both web processes, one worker and one web
process killed with SIGKILL and one worker stopped with SIGTERM mid-load. It passes only if
every acknowledged message is stored and processed once and gets exactly one auto-reply.

Marked ``drill``: deselected by default, run with ``./scripts/test -m drill`` on PostgreSQL
(its own step of ``.ci/run``). About two minutes.
"""

from __future__ import annotations

import pytest

from bench.drill import DrillConfig, run_drill
from tests.databases import BACKEND

pytestmark = [
    pytest.mark.drill,
    pytest.mark.skipif(
        BACKEND != "postgresql",
        reason="the drill needs PostgreSQL (INBOX_TEST_DATABASE=postgresql): several processes "
        "share the app database and follow its LISTEN/NOTIFY feed",
    ),
]


@pytest.mark.timeout(420)
async def test_drill_loses_and_duplicates_nothing() -> None:
    # 120 texts over 60 s from 40 contacts: moderate, for a machine whose cores are shared.
    report = await run_drill(DrillConfig(contacts=40, per_contact=3, duration=60.0))
    print(report.render())
    assert report.ok, report.render()
    assert report.sent == report.acknowledged == report.stored == report.processed == 120
    assert report.auto_replies == report.auto_replies_at_provider == 120
    assert report.duplicates == 0 and report.stuck_workflows == 0
    # The senders retried: the lost acknowledgements reached the product a second time.
    assert report.attempts > report.sent
