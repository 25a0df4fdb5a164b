"""Reports per tag: a conversation counts in the row of each tag it carries (now), one
without tags in "No tag". Figures worked out by hand below. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from inbox.reporting import figures
from inbox.reporting.facts import FactKind, record
from inbox.reporting.figures import DateRange, Dimension, Grouping, Stats
from tests.factories import Factory

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday


def _tagged(session: Session, factory: Factory, tags: list[str], first_response: int, day: int):
    convo = factory.conversation(tags=tags)
    opened = T0 + timedelta(days=day)
    record(session, conversation=convo, kind=FactKind.OPENED, key="opened", at=opened)
    record(session, conversation=convo, kind=FactKind.FIRST_RESPONSE, key="first_response",
           at=opened + timedelta(seconds=first_response), seconds=first_response)  # fmt: skip
    return convo


def test_a_conversation_counts_in_each_of_its_tags_and_one_without_in_no_tag(
    session: Session, factory: Factory
) -> None:
    # Monday: [vip, billing] 60 s, [vip] 120 s, [] 300 s; Tuesday: [billing] 30 s.
    _tagged(session, factory, ["vip", "billing"], 60, 0)
    _tagged(session, factory, ["vip"], 120, 0)
    untagged = _tagged(session, factory, [], 300, 0)
    _tagged(session, factory, ["billing"], 30, 1)
    record(session, conversation=untagged, kind=FactKind.CLOSED, key="c", at=T0 +
           timedelta(hours=1), seconds=3600)  # fmt: skip
    session.commit()
    dates = DateRange(date(2026, 11, 2), date(2026, 11, 3))
    by_day = figures.build(session, dates=dates, group=Grouping.DAY, by=Dimension.TAG)
    # Alphabetical within a day, "No tag" last; the key is the tag itself.
    assert [(row.period.day, row.key, row.label, row.opened) for row in by_day.rows] == [
        (2, "billing", "billing", 1), (2, "vip", "vip", 2), (2, None, "No tag", 1),
        (3, "billing", "billing", 1),
    ]  # fmt: skip
    vip = by_day.rows[1]
    # 60 and 120: median 90; p90 at rank 0.9: 60 + 0.9 * 60 = 114; mean 90.
    assert vip.first_response == Stats(2, 90.0, 114.0, 90.0)
    assert by_day.rows[2].close == Stats(1, 3600.0, 3600.0, 3600.0)
    by_week = figures.build(session, dates=dates, group=Grouping.WEEK, by=Dimension.TAG)
    billing = by_week.rows[0]
    # billing over the week: 60 (Monday) and 30 (Tuesday): median 45; p90 30 + 0.9 * 30 = 57.
    assert (billing.label, billing.opened) == ("billing", 2)
    assert billing.first_response == Stats(2, 45.0, 57.0, 45.0)


def test_a_tag_put_on_later_counts_the_earlier_events(session: Session, factory: Factory):
    convo = _tagged(session, factory, [], 60, 0)
    session.commit()
    convo.tags = ["refund"]  # tagged at the close, after its first response
    session.commit()
    report = figures.build(session, dates=DateRange(T0.date(), T0.date()), group=Grouping.DAY,
                           by=Dimension.TAG)  # fmt: skip
    assert [(row.label, row.opened, row.first_response.count) for row in report.rows] == [
        ("refund", 1, 1)
    ]


def test_an_agents_own_figures_per_tag(session: Session, factory: Factory) -> None:
    ann, bob = factory.user(name="Ann"), factory.user(name="Bob")
    for agent, tags in ((ann, ["vip"]), (bob, ["vip", "spam-risk"])):
        convo = factory.conversation(tags=tags, assignee_id=agent.id)
        record(session, conversation=convo, kind=FactKind.OPENED, key="opened", at=T0)
    session.commit()
    dates = DateRange(T0.date(), T0.date())
    own = figures.build(session, dates=dates, group=Grouping.DAY, by=Dimension.TAG,
                        assignee_id=ann.id)  # fmt: skip
    assert [(row.label, row.opened) for row in own.rows] == [("vip", 1)]
    every = figures.build(session, dates=dates, group=Grouping.DAY, by=Dimension.TAG)
    assert [(row.label, row.opened) for row in every.rows] == [("spam-risk", 1), ("vip", 2)]
