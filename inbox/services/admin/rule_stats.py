"""Rule statistics for Settings → Automation: per rule, how often it fired, was skipped or
failed over the last 7 and 30 days, and why it was skipped most often.

Counted in the database from ``rule_runs``, one grouped query per window, never by loading
runs: a busy rule has thousands a day."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Text, case, cast, func, or_, select
from sqlalchemy.orm import Session

from inbox.models import RuleRun

WINDOWS = (7, 30)  # days
TOP_REASONS = 3
FIRED, SKIPPED, FAILED = "fired", "skipped", "failed"

# A run that fired but whose action failed counts as failed, as the ``rule_runs`` metric counts
# it (activities/automation.py). Actions are stored as JSON; both SQLite's JSON text and
# PostgreSQL's jsonb text write ``"status": "failed"`` this way, and a quote inside a string
# value is escaped, so a detail text cannot match.
_ACTION_FAILED = '%"status": "failed"%'


@dataclass
class Counts:
    """One rule's runs in one window."""

    fired: int = 0
    skipped: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.fired + self.skipped + self.failed


@dataclass
class RuleStats:
    """One rule's figures; ``in_force`` is false for a rule that has runs but is no longer in
    any rule file (removed or renamed)."""

    rule: str
    in_force: bool
    counts: dict[int, Counts] = field(default_factory=dict)  # by window (days)
    # By window: the most frequent skip reasons, most frequent first, then alphabetically.
    skip_reasons: dict[int, list[tuple[str, int]]] = field(default_factory=dict)


def _outcome() -> ColumnElement[str]:
    return case(
        (
            or_(
                RuleRun.outcome == FAILED,
                (RuleRun.outcome == FIRED) & cast(RuleRun.actions, Text).like(_ACTION_FAILED),
            ),
            FAILED,
        ),
        else_=RuleRun.outcome,
    )


def _window(session: Session, since: datetime) -> list[tuple[str, str, str, int]]:
    """``(rule, outcome, reason, count)`` for the runs since ``since``; the reason only for
    skipped runs (for the others it is blank, so they group per outcome)."""
    # Grouped over a subquery's columns: PostgreSQL with server-side parameters does not see
    # two renderings of one CASE (each with its own parameters) as the same expression.
    runs = (
        select(
            RuleRun.rule.label("rule"),
            _outcome().label("outcome"),
            case((RuleRun.outcome == SKIPPED, RuleRun.reason), else_="").label("reason"),
        )
        .where(RuleRun.created_at >= since)
        .subquery()
    )
    query = select(runs.c.rule, runs.c.outcome, runs.c.reason, func.count()).group_by(
        runs.c.rule, runs.c.outcome, runs.c.reason
    )
    return [(r, o, why, n) for r, o, why, n in session.execute(query).all()]


def rule_stats(
    session: Session, *, rules_in_force: Collection[str], now: datetime
) -> list[RuleStats]:
    """Figures for every rule in force (zeros if it has not run) and every rule that ran in the
    longest window, in force first, each part by name."""
    found = {name: RuleStats(rule=name, in_force=True) for name in rules_in_force}
    reasons: dict[tuple[str, int], dict[str, int]] = {}
    for days in WINDOWS:
        for rule, outcome, reason, runs in _window(session, now - timedelta(days=days)):
            stats = found.setdefault(rule, RuleStats(rule=rule, in_force=False))
            counts = stats.counts.setdefault(days, Counts())
            if outcome == FIRED:
                counts.fired += runs
            elif outcome == SKIPPED:
                counts.skipped += runs
                by_reason = reasons.setdefault((rule, days), {})
                by_reason[reason] = by_reason.get(reason, 0) + runs
            elif outcome == FAILED:
                counts.failed += runs
    # Every rule gets every window, also one it first appeared in a longer window.
    for stats in found.values():
        for days in WINDOWS:
            stats.counts.setdefault(days, Counts())
            ranked = sorted(
                reasons.get((stats.rule, days), {}).items(), key=lambda kv: (-kv[1], kv[0])
            )
            stats.skip_reasons[days] = ranked[:TOP_REASONS]
    return sorted(found.values(), key=lambda s: (not s.in_force, s.rule))
