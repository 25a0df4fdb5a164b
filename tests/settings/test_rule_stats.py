"""Rule statistics (Settings → Automation): fired / skipped / failed counts per rule over 7 and
30 days and the top skip reasons, from hand-made ``rule_runs`` rows across the windows."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from inbox.models import RuleRun
from inbox.models.base import utcnow
from inbox.services.admin import rule_stats

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
_keys = count()

CLOSED = "conversation.status is closed (needs open)"
OPEN_HOURS = "inbox.within_business_hours is true (needs false)"
TAGGED = "conversation.tags has vip (needs not)"


def _run(session: Any, rule: str, outcome: str, days_ago: float, reason: str = "", **kw: Any):
    session.add(
        RuleRun(
            run_key=f"k{next(_keys)}", rule=rule, version="abc", conversation_id=None,
            trigger="message_received", trigger_key=f"t{next(_keys)}", outcome=outcome,
            reason=reason, created_at=kw.pop("now", NOW) - timedelta(days=days_ago), **kw,
        )
    )  # fmt: skip


def _seed(session: Any, now: datetime = NOW) -> None:
    # welcome: in the last 7 days 2 fired, 3 skipped (2 closed, 1 open hours), 1 failed action;
    # days 8..29 add 1 fired, 4 skipped (3 open hours, 1 tagged); 31 days ago is outside both.
    for days in (0.1, 6.9):
        _run(session, "welcome", "fired", days, now=now)
    _run(session, "welcome", "fired", 2, now=now, actions=[
        {"kind": "send_sms", "status": "failed", "detail": 'provider said "no"'}
    ])  # fmt: skip
    _run(session, "welcome", "fired", 3, now=now, actions=[
        {"kind": "send_sms", "status": "done", "detail": 'text "status": "failed" quoted'}
    ])  # fmt: skip
    for days, reason in ((1, CLOSED), (5, CLOSED), (6, OPEN_HOURS)):
        _run(session, "welcome", "skipped", days, reason, now=now)
    _run(session, "welcome", "fired", 10, now=now)
    for days, reason in ((8, OPEN_HOURS), (12, OPEN_HOURS), (29.9, OPEN_HOURS), (20, TAGGED)):
        _run(session, "welcome", "skipped", days, reason, now=now)
    _run(session, "welcome", "fired", 31, now=now)
    _run(session, "welcome", "skipped", 45, CLOSED, now=now)
    # retired: no longer in a rule file, ran 15 days ago (30-day window only).
    _run(session, "retired", "skipped", 15, TAGGED, now=now)
    _run(session, "retired", "failed", 16, "", now=now)
    # ancient: removed, last ran 40 days ago: not shown.
    _run(session, "ancient", "fired", 40, now=now)
    session.commit()


def test_counts_per_window_and_skip_reasons_in_order(session):
    _seed(session)
    stats = rule_stats.rule_stats(session, rules_in_force=["welcome", "idle"], now=NOW)
    assert [(s.rule, s.in_force) for s in stats] == [
        ("idle", True), ("welcome", True), ("retired", False)
    ]  # fmt: skip
    idle, welcome, retired = stats
    C = rule_stats.Counts
    assert welcome.counts == {
        7: C(fired=3, skipped=3, failed=1), 30: C(fired=4, skipped=7, failed=1)
    }  # fmt: skip
    assert welcome.skip_reasons[7] == [(CLOSED, 2), (OPEN_HOURS, 1)]
    assert welcome.skip_reasons[30] == [(OPEN_HOURS, 4), (CLOSED, 2), (TAGGED, 1)]
    assert idle.counts == {7: C(), 30: C()} and idle.skip_reasons == {7: [], 30: []}
    assert retired.counts == {7: C(), 30: C(skipped=1, failed=1)}
    assert retired.skip_reasons == {7: [], 30: [(TAGGED, 1)]}


def test_ties_rank_alphabetically_and_only_the_top_three_show(session):
    for reason in ("d", "c", "b", "a", "a", "e"):
        _run(session, "busy", "skipped", 1, reason)
    session.commit()
    [busy] = rule_stats.rule_stats(session, rules_in_force=["busy"], now=NOW)
    assert busy.skip_reasons[7] == [("a", 2), ("b", 1), ("c", 1)]


def test_the_automation_page_shows_the_table(login, app_settings, session):
    (app_settings.rules_dir / "rules.yaml").write_text(
        "- name: welcome\n  trigger: message_received\n  then:\n    - add_note: hi\n"
        "- name: idle\n  trigger: message_received\n  then:\n    - add_note: hi\n"
    )
    _seed(session, now=utcnow())
    html = login("admin@example.com").get("/settings/automation").text
    table = html.split('id="rule-stats"', 1)[1].split("</table>", 1)[0]
    rows = {
        name: body
        for name, body in re.findall(r'<tr data-rule="([^"]+)"[^>]*>(.*?)</tr>', table, re.S)
    }
    assert list(rows) == ["idle", "welcome", "retired"]
    cells = re.findall(r'data-window="(\d+)" data-outcome="(\w+)">(\d+)<', rows["welcome"])
    assert [(int(d), o, int(n)) for d, o, n in cells] == [
        (7, "fired", 3), (7, "skipped", 3), (7, "failed", 1),
        (30, "fired", 4), (30, "skipped", 7), (30, "failed", 1),
    ]  # fmt: skip
    times = "\N{MULTIPLICATION SIGN}"
    reasons = re.findall(rf'class="skip-reason"><small>(\d+) {times} ([^<]+)<', rows["welcome"])
    assert reasons == [("4", OPEN_HOURS), ("2", CLOSED), ("1", TAGGED)]
    assert "no longer in force" in rows["retired"] and "no longer in force" not in rows["idle"]
    assert "ancient" not in table
