"""The daily roll-up (``report_days``): written fact by fact as facts are first stored, it
holds what filling it from every fact at once gives (the migration's way), a duplicate fact
adds nothing, and a day is the fact's UTC day. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from inbox.models import ReportDay
from inbox.reporting import days
from inbox.reporting.facts import FactKind, record
from tests.factories import Factory

LATE = datetime(2026, 11, 2, 23, 59, tzinfo=UTC)  # Monday, a minute before the UTC midnight


def _rows(session: Session) -> list[tuple[Any, ...]]:
    """Every day row, its lists as sorted seconds (the order values were added in is not
    kept by a fill)."""
    found = []
    for row in session.scalars(select(ReportDay)):
        keys = tuple(getattr(row, name) for name in days.KEYS)
        counts = tuple(getattr(row, name) for name in days.COUNTERS.values())
        lists = tuple(tuple(sorted(days.seconds_of(getattr(row, name)))) for name in days.LISTS)
        found.append((*keys, *counts, *lists))
    return sorted(found)


def _facts(session: Session, factory: Factory) -> tuple[int, int]:
    agent = factory.user(name="Ann")
    sales, support = factory.inbox(name="Sales"), factory.inbox(name="Support")
    unassigned = factory.conversation(inbox_id=sales.id)
    owned = factory.conversation(inbox_id=support.id, assignee_id=agent.id)
    for _ in range(2):  # everything twice: a retried activity
        record(session, conversation=unassigned, kind=FactKind.OPENED, key="opened", at=LATE)
        for n in (1, 2):
            record(session, conversation=unassigned, kind=FactKind.MESSAGE_IN, key=str(n),
                   at=LATE)  # fmt: skip
        record(session, conversation=unassigned, kind=FactKind.REPLY, key="r1", at=LATE,
               seconds=300)  # fmt: skip
        # Two minutes later is Tuesday in UTC: the next day's row.
        record(session, conversation=unassigned, kind=FactKind.FIRST_RESPONSE,
               key="first_response", at=LATE + timedelta(minutes=2), seconds=420)  # fmt: skip
        record(session, conversation=owned, kind=FactKind.CLOSED, key="c1", at=LATE,
               seconds=3600)  # fmt: skip
        record(session, conversation=owned, kind=FactKind.REOPENED, key="c1", at=LATE)
        record(session, conversation=owned, kind=FactKind.SLA_BREACHED, key="first:x", at=LATE,
               seconds=900)  # fmt: skip
    session.commit()
    return sales.id, agent.id


def test_the_roll_up_written_fact_by_fact_is_the_one_a_fill_makes(
    session: Session, factory: Factory
) -> None:
    sales, agent = _facts(session, factory)
    written = _rows(session)
    monday = {row[1:3]: row for row in written if row[0] == date(2026, 11, 2)}
    # Unassigned in Sales on Monday: opened once, two messages in, one reply of 300 s (the
    # duplicates counted nothing), its first response on Tuesday's row.
    none = days.NONE
    counts = dict(zip(days.COUNTERS.values(), monday[(sales, none)][4:11], strict=True))
    assert counts == {"opened": 1, "closed": 0, "reopened": 0, "messages_in": 2,
                      "messages_out": 0, "sla_met": 0, "sla_breached": 0}  # fmt: skip
    lists = dict(zip(days.LISTS, monday[(sales, none)][11:], strict=True))
    assert lists["reply"] == lists["reply_business"] == (300,)
    assert lists["first_response"] == ()
    tuesday = [row for row in written if row[0] == date(2026, 11, 3)]
    assert [dict(zip(days.LISTS, row[11:], strict=True))["first_response"] for row in tuesday] == [
        (420,)
    ]
    [support_row] = [row for row in written if row[2] == agent]
    assert support_row[4:11] == (0, 1, 1, 0, 0, 0, 1)  # closed, reopened, an SLA breach
    # The migration's fill, from the facts alone, gives the same rows.
    session.execute(delete(ReportDay))
    days.fill(session.connection())
    session.commit()
    assert _rows(session) == written
