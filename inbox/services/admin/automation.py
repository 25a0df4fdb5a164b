"""What the automation page shows: the rules in force with their problems and file times, and
recent rule runs. Rules are YAML files (reviewed like code), so this page only reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.contracts import RuleSpec
from inbox.models import RuleRun
from inbox.rules.loader import rule_files
from inbox.rules.registry import registry_for
from inbox.rules.validate import Problem, display_name


@dataclass
class RuleFile:
    path: str
    changed_at: datetime | None
    rules: list[RuleSpec] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def rule_files_status(directory: Path) -> list[RuleFile]:
    """Each rule file in ``directory``: its rules in force, its problems, when it changed."""
    rule_set = registry_for(directory).current()
    found: list[RuleFile] = []
    for path in rule_files(directory) if directory.is_dir() else []:
        shown = display_name(path)
        try:
            changed = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        except OSError:
            changed = None
        found.append(
            RuleFile(
                path=shown,
                changed_at=changed,
                rules=[r for r in rule_set.rules if r.source.rsplit(":", 1)[0] == shown],
                problems=[p for p in rule_set.problems if p.file == shown],
            )
        )
    return found


def rules_in_force(directory: Path) -> list[str]:
    """The names of the rules loaded from ``directory`` (broken ones left out)."""
    return [rule.name for rule in registry_for(directory).current().rules]


def recent_runs(session: Session, *, limit: int = 50, outcome: str = "") -> list[RuleRun]:
    """The newest rule runs (fired or skipped, with the reason)."""
    query = select(RuleRun).order_by(RuleRun.id.desc()).limit(limit)
    if outcome:
        query = query.where(RuleRun.outcome == outcome)
    return list(session.scalars(query))
