"""The SLA hit rate per row: met / (met + breached) of the SLA targets that ended in the
period, from ``sla_met`` / ``sla_breached`` facts (written here through ``facts.record``, as
the SLA writer does). SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from inbox.models import Conversation
from inbox.reporting import figures
from inbox.reporting.facts import FactKind, record
from inbox.reporting.figures import DateRange, Dimension, Grouping, hit_rate
from tests.factories import Factory

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday


def _target(session: Session, convo: Conversation, target: str, met: bool, ended: datetime):
    started = ended - timedelta(minutes=30)
    record(session, conversation=convo, kind=FactKind.SLA_MET if met else FactKind.SLA_BREACHED,
           key=f"{target}:{started.isoformat()}", at=ended, seconds=1800)  # fmt: skip


def test_the_hit_rate_per_inbox_and_day(session: Session, factory: Factory) -> None:
    sales, support = factory.inbox(name="Sales"), factory.inbox(name="Support")
    one, two = (factory.conversation(inbox_id=sales.id) for _ in range(2))
    other = factory.conversation(inbox_id=support.id)
    # Sales, Monday: 3 met (two targets of one conversation, one of another), 1 breached.
    _target(session, one, "first_response", True, T0)
    _target(session, one, "resolution", True, T0 + timedelta(hours=2))
    _target(session, two, "first_response", True, T0)
    _target(session, two, "next_response", False, T0 + timedelta(hours=1))
    # The same event written again (a retried activity) counts once.
    _target(session, two, "next_response", False, T0 + timedelta(hours=1))
    # Support, Monday: 1 breached. Sales, Tuesday: an opening, no target ended.
    _target(session, other, "first_response", False, T0)
    record(session, conversation=one, kind=FactKind.OPENED, key="opened", at=T0 + timedelta(1))
    session.commit()
    dates = DateRange(date(2026, 11, 2), date(2026, 11, 3))
    report = figures.build(session, dates=dates, group=Grouping.DAY, by=Dimension.INBOX)
    got = {(row.period.day, row.label): row for row in report.rows}
    monday = got[(2, "Sales")]
    assert (monday.sla_met, monday.sla_breached, monday.sla_hit_rate) == (3, 1, 75.0)  # 3 / 4
    assert (got[(2, "Support")].sla_met, got[(2, "Support")].sla_hit_rate) == (0, 0.0)
    assert got[(3, "Sales")].sla_hit_rate is None  # none ended: no rate, not 0 %
    week = figures.build(session, dates=dates, group=Grouping.WEEK, by=Dimension.INBOX)
    assert [(row.label, row.sla_met, row.sla_breached) for row in week.rows] == [
        ("Sales", 3, 1), ("Support", 0, 1)]  # fmt: skip


def test_the_rate_is_rounded_to_one_decimal() -> None:
    assert (hit_rate(2, 1), hit_rate(1, 2), hit_rate(0, 0), hit_rate(5, 0)) == (
        66.7, 33.3, None, 100.0)  # fmt: skip
