"""The business-hours variant of the time figures: each wait's open seconds are counted when
its fact is written (with the conversation's inbox hours), so a report in business hours
reads them as it reads the plain ones. A contact's text on Friday afternoon answered on
Monday morning, worked out by hand. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from activities.store import write_clocks
from inbox import migrations
from inbox.contracts import (
    SIGNAL_CLOSED,
    SIGNAL_MESSAGE_RECEIVED,
    SIGNAL_MESSAGE_SENT,
    ConversationEvent,
    ConversationState,
)
from inbox.db import make_engine
from inbox.models import Conversation, Direction, Message, MessageStatus, ReportFact
from inbox.reporting import figures
from inbox.reporting.facts import FactKind, record, record_message
from inbox.reporting.figures import DateRange, Dimension, Grouping, Hours, Stats
from tests.databases import fresh_database
from tests.factories import Factory
from workflows.conversation import apply_event

WEEKDAYS = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
NY = "America/New_York"  # UTC-5 in December
FRIDAY = datetime(2026, 12, 4, 21, 30, tzinfo=UTC)  # Friday 16:30 in New York
MONDAY_REPLY = datetime(2026, 12, 7, 14, 15, tzinfo=UTC)  # Monday 9:15 in New York
MONDAY_CLOSE = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York
# Plain: Friday 21:30 to Monday 14:15 UTC is 2 days 16 h 45 min = 233,100 s. Business: Friday
# 16:30-17:00 and Monday 9:00-9:15, 45 min = 2,700 s.
REPLY_PLAIN, REPLY_BUSINESS = 2 * 86400 + 16 * 3600 + 45 * 60, 45 * 60
# The close at Monday 10:00: plain 2 days 17 h 30 min = 235,800 s; business 30 + 60 min.
CLOSE_PLAIN, CLOSE_BUSINESS = 2 * 86400 + 17 * 3600 + 30 * 60, 90 * 60


def _message(session: Session, convo: Conversation, inbound: bool, at: datetime) -> Message:
    message = Message(
        conversation_id=convo.id, contact_id=convo.contact_id, channel_id=convo.channel_id,
        direction=Direction.INBOUND if inbound else Direction.OUTBOUND, body="x", media=[],
        from_number="+1", to_number="+2", provider="simulator",
        status=MessageStatus.RECEIVED if inbound else MessageStatus.SENT, created_at=at,
    )  # fmt: skip
    session.add(message)
    session.flush()
    record_message(session, convo, message)
    return message


def _weekend_wait(session: Session, convo: Conversation) -> None:
    """Through the workflow's clock logic and the store step that writes the clocks."""
    state = ConversationState(conversation_id=convo.id)
    for signal, at in [(SIGNAL_MESSAGE_RECEIVED, FRIDAY), (SIGNAL_MESSAGE_SENT, MONDAY_REPLY),
                       (SIGNAL_CLOSED, MONDAY_CLOSE)]:  # fmt: skip
        message_id = None
        if signal != SIGNAL_CLOSED:
            message_id = _message(session, convo, signal == SIGNAL_MESSAGE_RECEIVED, at).id
        apply_event(state, signal, ConversationEvent(key=f"{signal}{at}", at=at,
                                                     message_id=message_id))  # fmt: skip
        write_clocks(session, convo, state.clocks, at)
        session.commit()


def test_a_weekend_wait_in_plain_and_business_time(session: Session, factory: Factory) -> None:
    hours = factory.inbox(name="Sales", business_hours=WEEKDAYS, timezone=NY)
    always = factory.inbox(name="Support")  # no hours: every second counts
    sales_convo = factory.conversation(inbox_id=hours.id)
    support_convo = factory.conversation(inbox_id=always.id)
    _weekend_wait(session, sales_convo)
    _weekend_wait(session, support_convo)
    stored = session.execute(
        select(ReportFact.kind, ReportFact.seconds, ReportFact.business_seconds)
        .where(ReportFact.conversation_id == sales_convo.id, ReportFact.seconds.is_not(None))
        .order_by(ReportFact.kind)
    ).all()
    assert [tuple(row) for row in stored] == [
        ("closed", CLOSE_PLAIN, CLOSE_BUSINESS),
        ("first_response", REPLY_PLAIN, REPLY_BUSINESS),
        ("reply", REPLY_PLAIN, REPLY_BUSINESS),
    ]
    dates = DateRange(date(2026, 12, 7), date(2026, 12, 7))  # the waits end on Monday

    def rows(counted: Hours) -> dict[str, figures.Row]:
        report = figures.build(session, dates=dates, group=Grouping.DAY, by=Dimension.INBOX,
                               hours=counted)  # fmt: skip
        assert report.hours == counted
        return {row.label: row for row in report.rows}

    plain, business = rows(Hours.ALL), rows(Hours.BUSINESS)
    assert plain["Sales"].first_response == Stats(1, REPLY_PLAIN, REPLY_PLAIN, REPLY_PLAIN)
    assert plain["Sales"].close == Stats(1, CLOSE_PLAIN, CLOSE_PLAIN, CLOSE_PLAIN)
    assert business["Sales"].first_response == Stats(1, 2700.0, 2700.0, 2700.0)
    assert business["Sales"].reply == Stats(1, 2700.0, 2700.0, 2700.0)
    assert business["Sales"].close == Stats(1, 5400.0, 5400.0, 5400.0)
    # The inbox without hours counts the weekend: business equals plain.
    assert business["Support"].reply == plain["Support"].reply
    assert business["Support"].reply.median == REPLY_PLAIN
    # The counts do not depend on the hours.
    assert (business["Sales"].closed, plain["Sales"].closed) == (1, 1)


def test_median_p90_and_mean_in_business_hours(session: Session, factory: Factory) -> None:
    inbox = factory.inbox(business_hours=WEEKDAYS, timezone=NY, holidays=["2026-12-07"])
    convo = factory.conversation(inbox_id=inbox.id)
    # Three replies on Tuesday 8 December 10:00 New York (15:00 UTC), having waited since:
    # Tuesday 9:30 (1,800 s both ways); Friday 16:00 (plain 3 days 18 h = 324,000 s; business:
    # Friday 1 h, Monday a holiday, Tuesday 1 h: 7,200 s); Monday 12:00 (plain 22 h = 79,200 s;
    # business: the holiday, then Tuesday 9:00-10:00: 3,600 s).
    end = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)
    for n, seconds in enumerate((1800, 3 * 86400 + 18 * 3600, 22 * 3600)):
        record(session, conversation=convo, kind=FactKind.REPLY, key=f"r{n}", at=end,
               seconds=seconds)  # fmt: skip
    session.commit()
    report = figures.build(session, dates=DateRange(end.date(), end.date()), group=Grouping.DAY,
                           by=Dimension.INBOX, hours=Hours.BUSINESS)  # fmt: skip
    # 1,800 3,600 7,200: median 3,600; p90 at rank 1.8: 3,600 + 0.8 * 3,600 = 6,480; mean
    # 12,600 / 3 = 4,200.
    # (Plain: 1,800 79,200 324,000: median 79,200.)
    assert report.rows[0].reply == Stats(3, 3600.0, 6480.0, 4200.0)
    plain = figures.build(session, dates=DateRange(end.date(), end.date()), group=Grouping.DAY,
                          by=Dimension.INBOX)  # fmt: skip
    assert plain.rows[0].reply.median == 79200.0


def test_a_moved_conversation_counts_its_new_inboxs_hours(session: Session, factory: Factory):
    always, hours = factory.inbox(), factory.inbox(business_hours=WEEKDAYS, timezone=NY)
    convo = factory.conversation(inbox_id=always.id)
    assert convo.inbox.business_hours == {}  # the relationship loaded before the move
    convo.inbox_id = hours.id
    record(session, conversation=convo, kind=FactKind.REPLY, key="r", at=MONDAY_REPLY,
           seconds=REPLY_PLAIN)  # fmt: skip
    session.commit()
    fact = session.scalars(select(ReportFact).where(ReportFact.conversation_id == convo.id)).one()
    assert (fact.inbox_id, fact.seconds, fact.business_seconds) == (
        hours.id, REPLY_PLAIN, REPLY_BUSINESS)  # fmt: skip


@pytest.fixture
def fresh_url(tmp_path: Path):
    with fresh_database(tmp_path) as url:
        yield url


def test_the_migration_fills_business_seconds_with_the_inboxs_hours(fresh_url: str) -> None:
    migrations.upgrade(fresh_url, "0018_report_business-1")  # facts without the column
    engine = make_engine(fresh_url)
    try:
        with Session(engine) as session:
            factory = Factory(session)
            hours = factory.inbox(business_hours=WEEKDAYS, timezone=NY)
            always = factory.inbox()
            ids = [factory.conversation(inbox_id=inbox.id).id for inbox in (hours, always)]
            session.commit()
            inbox_ids = [hours.id, always.id]
        with engine.begin() as conn:
            for convo_id, inbox_id in zip(ids, inbox_ids, strict=True):
                for kind, seconds in (("reply", REPLY_PLAIN), ("opened", None)):
                    conn.execute(text(
                        "INSERT INTO report_facts (conversation_id, kind, event_key, at,"
                        " inbox_id, seconds) VALUES (:c, :k, 'x', :at, :i, :s)"),
                        {"c": convo_id, "k": kind, "i": inbox_id, "s": seconds,
                         "at": MONDAY_REPLY if engine.dialect.name == "postgresql"
                         else MONDAY_REPLY.replace(tzinfo=None)})  # fmt: skip
        migrations.upgrade(fresh_url)
        with engine.connect() as conn:
            found = conn.execute(text(
                "SELECT conversation_id, kind, business_seconds FROM report_facts"
                " ORDER BY conversation_id, kind")).all()  # fmt: skip
    finally:
        engine.dispose()
    assert [tuple(row) for row in found] == [
        (ids[0], "opened", None), (ids[0], "reply", REPLY_BUSINESS),
        (ids[1], "opened", None), (ids[1], "reply", REPLY_PLAIN),
    ]  # fmt: skip
