"""Reports: the facts written per event (through the workflow's real clock logic and the
store step that writes its clocks) and the figures read from them, checked against fixtures
whose medians and 90th percentiles are worked out by hand below. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.store import write_clocks
from inbox.contracts import (
    SIGNAL_CLOSED,
    SIGNAL_MESSAGE_RECEIVED,
    SIGNAL_MESSAGE_SENT,
    ConversationEvent,
    ConversationState,
)
from inbox.models import Conversation, Direction, Message, MessageStatus, ReportFact
from inbox.reporting import figures
from inbox.reporting.facts import FactKind, record, record_message
from inbox.reporting.figures import DateRange, Dimension, Grouping, ReportInputError, Stats
from tests.factories import Factory
from workflows.conversation import apply_event

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday


def _message(session: Session, convo: Conversation, direction: str, at: datetime) -> Message:
    inbound = direction == Direction.INBOUND
    message = Message(
        conversation_id=convo.id, contact_id=convo.contact_id, channel_id=convo.channel_id,
        direction=direction, body="x", media=[], from_number="+1", to_number="+2",
        provider="simulator",
        status=MessageStatus.RECEIVED if inbound else MessageStatus.SENT, created_at=at,
    )  # fmt: skip
    session.add(message)
    session.flush()
    return message


def _facts(session: Session, convo: Conversation) -> list[tuple[str, int | None]]:
    rows = session.execute(
        select(ReportFact.kind, ReportFact.seconds)
        .where(ReportFact.conversation_id == convo.id)
        .order_by(ReportFact.at, ReportFact.id)
    )
    return [(kind, seconds) for kind, seconds in rows]


def test_the_clock_writes_record_each_event_once(session: Session, factory: Factory):
    convo = factory.conversation()
    state = ConversationState(conversation_id=convo.id)

    def event(signal: str, minutes: float, automated: bool = False) -> None:
        at = T0 + timedelta(minutes=minutes)
        message_id = None
        if signal in (SIGNAL_MESSAGE_RECEIVED, SIGNAL_MESSAGE_SENT):
            inbound = signal == SIGNAL_MESSAGE_RECEIVED
            message = _message(session, convo, Direction.INBOUND if inbound else
                               Direction.OUTBOUND, at)  # fmt: skip
            record_message(session, convo, message)
            message_id = message.id
        apply_event(
            state,
            signal,
            ConversationEvent(key=f"e{minutes}", at=at, message_id=message_id, automated=automated),
        )
        write_clocks(session, convo, state.clocks, at)
        # The same write again (a retried activity) adds nothing.
        write_clocks(session, convo, state.clocks, at)
        session.commit()

    event(SIGNAL_MESSAGE_RECEIVED, 0)
    event(SIGNAL_MESSAGE_RECEIVED, 1)
    event(SIGNAL_MESSAGE_SENT, 2, automated=True)  # an auto-reply answers nobody
    event(SIGNAL_MESSAGE_SENT, 5)  # waited since minute 0: 300 s
    event(SIGNAL_MESSAGE_RECEIVED, 10)
    event(SIGNAL_MESSAGE_SENT, 20)  # waited since minute 10: 600 s
    event(SIGNAL_MESSAGE_SENT, 21)  # nothing unanswered: no reply time
    event(SIGNAL_CLOSED, 30)
    event(SIGNAL_MESSAGE_RECEIVED, 40)  # reopens
    event(SIGNAL_MESSAGE_SENT, 42)
    event(SIGNAL_CLOSED, 50)

    assert _facts(session, convo) == [
        ("message_in", None), ("opened", None),
        ("message_in", None),
        ("message_out", None),
        ("message_out", None), ("first_response", 300), ("reply", 300),
        ("message_in", None),
        ("message_out", None), ("reply", 600),
        ("message_out", None),
        ("closed", 1800),
        ("message_in", None), ("reopened", None),
        ("message_out", None), ("reply", 120),
        ("closed", 3000),
    ]  # fmt: skip


def test_the_same_event_twice_counts_once(session: Session, factory: Factory):
    convo = factory.conversation()
    for _ in range(2):
        record(session, conversation=convo, kind=FactKind.OPENED, key="opened", at=T0)
        record(session, conversation=convo, kind=FactKind.REPLY, key="r1", at=T0, seconds=60)
    session.commit()
    report = figures.build(session, dates=DateRange(T0.date(), T0.date()),
                           group=Grouping.DAY, by=Dimension.INBOX)  # fmt: skip
    [row] = report.rows
    assert (row.opened, row.reply.count, row.reply.median) == (1, 1, 60.0)


def _fixture(session: Session, factory: Factory):
    """Two inboxes, two agents. Sales, Monday: first responses 60, 120, 180, 240, 600 s;
    Tuesday: 30, 90 s. Support, Monday: one of 45 s, by the other agent."""
    ann, bob = factory.user(name="Ann"), factory.user(name="Bob")
    sales, support = factory.inbox(name="Sales"), factory.inbox(name="Support")
    channel = factory.channel(name="Main line", default_inbox=sales)
    made = []
    for inbox, agent, day, seconds in [
        *[(sales, ann, 0, s) for s in (60, 120, 180, 240, 600)],
        *[(sales, ann, 1, s) for s in (30, 90)],
        (support, bob, 0, 45),
    ]:
        convo = factory.conversation(channel=channel, inbox_id=inbox.id, assignee_id=agent.id)
        opened = T0 + timedelta(days=day)
        record(session, conversation=convo, kind=FactKind.OPENED, key="opened", at=opened)
        record(session, conversation=convo, kind=FactKind.FIRST_RESPONSE, key="first_response",
               at=opened + timedelta(seconds=seconds), seconds=seconds)  # fmt: skip
        record(session, conversation=convo, kind=FactKind.MESSAGE_IN, key="1", at=opened)
        made.append(convo)
    # One close on Monday (Sales, 3600 s) and one outside the range (the Sunday before).
    record(session, conversation=made[0], kind=FactKind.CLOSED, key="c1",
           at=T0 + timedelta(hours=1), seconds=3600)  # fmt: skip
    record(session, conversation=made[1], kind=FactKind.CLOSED, key="c0",
           at=T0 - timedelta(hours=10), seconds=99)  # fmt: skip
    session.commit()
    return ann, bob, sales, support


def test_figures_per_inbox_per_day_against_hand_computed_ones(session, factory):
    _fixture(session, factory)
    report = figures.build(session, dates=DateRange(date(2026, 11, 2), date(2026, 11, 3)),
                           group=Grouping.DAY, by=Dimension.INBOX)  # fmt: skip
    got = {(row.period.day, row.label): row for row in report.rows}
    assert sorted(got) == [(2, "Sales"), (2, "Support"), (3, "Sales")]
    monday = got[(2, "Sales")]
    assert (monday.opened, monday.closed, monday.messages_in) == (5, 1, 5)
    # Sorted 60 120 180 240 600: the median is the middle one; p90 sits at rank 0.9 * 4 =
    # 3.6, 60 % of the way from 240 to 600: 240 + 0.6 * 360 = 456; mean 1200 / 5 = 240.
    assert monday.first_response == Stats(5, 180.0, 456.0, 240.0)
    assert monday.close == Stats(1, 3600.0, 3600.0, 3600.0)
    # 30 and 90: median 60; p90 at rank 0.9: 30 + 0.9 * 60 = 84; mean 60.
    assert got[(3, "Sales")].first_response == Stats(2, 60.0, 84.0, 60.0)
    assert got[(3, "Sales")].close == Stats()
    assert got[(2, "Support")].first_response == Stats(1, 45.0, 45.0, 45.0)


def test_figures_per_agent_per_week_and_an_agents_own(session, factory):
    _, bob, _, support = _fixture(session, factory)
    dates = DateRange(date(2026, 11, 1), date(2026, 11, 8))
    report = figures.build(session, dates=dates, group=Grouping.WEEK, by=Dimension.AGENT)
    got = {(row.period, row.label): row for row in report.rows}
    # The Sunday close falls in the week of Monday 26 October.
    assert sorted(got) == [(date(2026, 10, 26), "Ann"), (date(2026, 11, 2), "Ann"),
                           (date(2026, 11, 2), "Bob")]  # fmt: skip
    week = got[(date(2026, 11, 2), "Ann")]
    # 30 60 90 120 180 240 600: median 120; p90 at rank 5.4: 240 + 0.4 * 360 = 384;
    # mean 1320 / 7 = 188.57...
    assert week.first_response.count == 7
    assert (week.first_response.median, week.first_response.p90) == (120.0, 384.0)
    assert week.first_response.mean == round(1320 / 7, 3)
    assert report.periods() == [date(2026, 10, 26), date(2026, 11, 2)]
    own = figures.build(session, dates=dates, group=Grouping.WEEK, by=Dimension.AGENT,
                        assignee_id=bob.id)  # fmt: skip
    assert [(row.label, row.opened) for row in own.rows] == [("Bob", 1)]
    scoped = figures.build(session, dates=dates, group=Grouping.WEEK, by=Dimension.CHANNEL,
                           inbox_ids=frozenset({support.id}))  # fmt: skip
    assert [(row.label, row.opened) for row in scoped.rows] == [("Main line", 1)]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("", "2026-11-02", "Give both dates of the range: .from. is missing"),
        ("2026-11-02", "2026-13-01", "YYYY-MM-DD"),
        ("2026-11-03", "2026-11-02", "The range is empty"),
        ("2024-11-01", "2026-11-02", "longer than two years"),
    ],
)
def test_bad_ranges_are_refused_with_a_reason(start, end, message):
    with pytest.raises(ReportInputError, match=message):
        figures.parse_range(start, end)


def test_two_years_exactly_is_accepted():
    assert figures.parse_range("2024-11-03", "2026-11-02").end == date(2026, 11, 2)
