# mypy: disable-error-code="type-arg,union-attr,no-untyped-call,no-untyped-def"
"""SLA deadlines in the real ``ConversationWorkflow`` on the time-skipping server, run by the
real worker and store: the first-response target counted in business hours across a weekend and
a holiday raises "at risk" at 80 % and "breached" at 100 % (timeline, notifications, the rules'
``sla_*`` triggers, the report facts); a reply in time ends it; continue-as-new carries it."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from inbox.contracts import SlaStage, SlaTarget
from inbox.models import ContactEvent, Conversation, EventKind, Notification, ReportFact
from inbox.services.conversations import close
from tests.polling import eventually
from tests.rules.conftest import Rig
from tests.rules.test_workflow import _continued, _start

NY = ZoneInfo("America/New_York")
WEEKDAYS = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}

BREACH_RULE = """
- name: tag-breaches
  trigger: sla_breached
  if:
    - conversation.sla.first_response_due_in: {lte: 0}
  then:
    - add_tag: overdue
"""


def _next_friday(now: datetime) -> datetime:
    """Friday 16:30 New York time, at least two days ahead of ``now``."""
    local = now.astimezone(NY) + timedelta(days=2)
    days = (4 - local.weekday()) % 7
    friday = (local + timedelta(days=days)).date()
    return datetime(friday.year, friday.month, friday.day, 16, 30, tzinfo=NY)


def _setup(factory, *, holiday: str | None = None, **policy):
    manager = factory.user(name="Mia Manager", role="manager")
    rep = factory.user(name="Rex Rep", manager_id=manager.id)
    inbox = factory.inbox(
        name="Support",
        timezone="America/New_York",
        business_hours=WEEKDAYS,
        holidays=[holiday] if holiday else [],
        members=[rep],
        **policy,
    )
    channel = factory.channel(default_inbox=inbox)
    contact = factory.contact(name="Ada Lovelace")
    conversation = factory.conversation(channel=channel, contact=contact, assignee_id=rep.id)
    return conversation, rep, manager


def _alerts(rig: Rig, conversation_id: int) -> list[str]:
    with rig.sessions() as session:
        query = select(ContactEvent.summary).where(
            ContactEvent.conversation_id == conversation_id, ContactEvent.kind == EventKind.SLA
        )
        return list(session.scalars(query.order_by(ContactEvent.id)))


def _told(rig: Rig, conversation_id: int) -> list[tuple[int, str]]:
    with rig.sessions() as session:
        query = select(Notification.user_id, Notification.text).where(
            Notification.conversation_id == conversation_id, Notification.kind == "sla"
        )
        return [tuple(row) for row in session.execute(query.order_by(Notification.id))]


def _facts(rig: Rig, conversation_id: int) -> list[str]:
    with rig.sessions() as session:
        query = select(ReportFact.kind).where(
            ReportFact.conversation_id == conversation_id, ReportFact.kind.like("sla_%")
        )
        return sorted(session.scalars(query))


def _row(rig: Rig, conversation_id: int) -> Conversation:
    with rig.sessions() as session:
        row = session.get_one(Conversation, conversation_id)
        session.expunge(row)
        return row


def _second(at: datetime) -> datetime:
    return at.replace(microsecond=0)


async def _sleep_until(rig: Rig, at: datetime) -> None:
    await rig.env.sleep(at - await rig.now())


async def test_first_response_in_business_hours_across_a_weekend_and_a_holiday(
    rig: Rig, factory, rules_dir: Path
) -> None:
    (rules_dir / "tag.yaml").write_text(BREACH_RULE)
    friday = _next_friday(await rig.now())
    monday = (friday + timedelta(days=3)).date()
    conversation, rep, manager = _setup(
        factory, holiday=monday.isoformat(), sla_first_response_minutes=60, sla_business_hours=True
    )
    tuesday = datetime(monday.year, monday.month, monday.day, 9, 0, tzinfo=NY) + timedelta(days=1)
    async with rig.worker():
        await _sleep_until(rig, friday)
        await rig.inbound(conversation.id, "my order never came")
        state = await rig.settled(conversation.id)
        # 30 open minutes on Friday, none at the weekend or on the holiday, the rest on Tuesday:
        # 80 % (48 min) at 9:18, 100 % at 9:30.
        [deadline] = state.sla
        assert deadline.target == SlaTarget.FIRST_RESPONSE
        # (to the second: the test server's sleeps end a few milliseconds late)
        assert _second(deadline.at_risk_at) == tuesday + timedelta(minutes=18)
        assert _second(deadline.due_at) == tuesday + timedelta(minutes=30)
        row = _row(rig, conversation.id)
        assert (row.sla_target, row.sla_due_at) == ("first_response", deadline.due_at)

        # Monday (the holiday) at noon: nothing yet.
        await _sleep_until(rig, tuesday - timedelta(hours=21))
        await rig.settled(conversation.id)
        assert _alerts(rig, conversation.id) == []

        await _sleep_until(rig, tuesday + timedelta(minutes=19))
        await eventually(lambda: len(_alerts(rig, conversation.id)) == 1)
        state = await rig.settled(conversation.id)
        assert state.sla[0].stage == SlaStage.AT_RISK
        assert "overdue" not in _row(rig, conversation.id).tags

        await _sleep_until(rig, tuesday + timedelta(minutes=31))
        await eventually(lambda: len(_alerts(rig, conversation.id)) == 2)
        state = await rig.settled(conversation.id)
    assert state.sla[0].stage == SlaStage.BREACHED
    due = f"due at {tuesday.strftime('%a')} {tuesday.day} {tuesday.strftime('%b')} 09:30"
    assert _alerts(rig, conversation.id) == [
        f"First response at risk: {due}",
        f"First response SLA breached ({due})",
    ]
    told = _told(rig, conversation.id)
    # At risk: the assignee; breached: the assignee and their manager.
    assert [user for user, _text in told] == [rep.id, rep.id, manager.id]
    assert told[2][1] == f"First response SLA breached ({due}) (Ada Lovelace)"
    # The sla_breached rule ran (its condition read the deadline's minutes left: none).
    assert "overdue" in _row(rig, conversation.id).tags
    assert _facts(rig, conversation.id) == ["sla_breached"]
    # Each sleep's timer says what it waits for: the Temporal UI shows it beside the timer.
    assert await _timer_summaries(rig, conversation.id) == [
        "SLA first response at risk", "SLA first response breached"]  # fmt: skip


async def _timer_summaries(rig: Rig, conversation_id: int) -> list[str]:
    handle = rig.env.client.get_workflow_handle(f"conversation-{conversation_id}")
    converter = rig.env.client.data_converter.payload_converter
    found = []
    async for event in handle.fetch_history_events():
        if event.HasField("timer_started_event_attributes"):
            summary = event.user_metadata.summary
            found.append(converter.from_payload(summary, str) if summary.data else "")
    return found


async def test_a_reply_in_time_ends_the_deadline_and_counts_as_met(rig: Rig, factory) -> None:
    conversation, rep, _manager = _setup(
        factory, sla_first_response_minutes=30, sla_next_response_minutes=20
    )
    async with rig.worker():
        await rig.inbound(conversation.id, "hello?")
        state = await rig.settled(conversation.id)
        assert [d.target for d in state.sla] == ["first_response"]
        await rig.env.sleep(timedelta(minutes=10))
        await rig.reply(conversation.id, "Hi! Looking now.", rep.id)
        state = await rig.settled(conversation.id)
        assert state.sla == []
        assert _row(rig, conversation.id).sla_due_at is None
        # Long past where the first deadline was due: no alert.
        await rig.env.sleep(timedelta(hours=1))
        await rig.settled(conversation.id)
        assert _alerts(rig, conversation.id) == []
        assert _facts(rig, conversation.id) == ["sla_met"]

        # The contact writes again: the next-response deadline runs from that message, and a
        # second message before the reply does not move it.
        first = await rig.inbound(conversation.id, "any news?")
        await rig.env.sleep(timedelta(minutes=5))
        await rig.inbound(conversation.id, "hello??")
        state = await rig.settled(conversation.id)
        [deadline] = state.sla
        assert deadline.target == SlaTarget.NEXT_RESPONSE
        assert deadline.due_at == first.created_at + timedelta(minutes=20)
        await rig.env.sleep(timedelta(minutes=20))
        await eventually(lambda: len(_alerts(rig, conversation.id)) == 2)
    assert [text.split(":")[0].split(" SLA")[0] for text in _alerts(rig, conversation.id)] == [
        "Next response at risk",
        "Next response",
    ]
    assert _facts(rig, conversation.id) == ["sla_breached", "sla_met"]


async def test_closing_ends_every_deadline_and_meets_resolution(rig: Rig, factory) -> None:
    conversation, rep, _manager = _setup(
        factory, sla_first_response_minutes=30, sla_resolution_minutes=24 * 60
    )
    async with rig.worker():
        await rig.inbound(conversation.id, "hello?")
        state = await rig.settled(conversation.id)
        assert sorted(d.target for d in state.sla) == ["first_response", "resolution"]
        with rig.sessions() as session:
            close(session, conversation=session.get_one(Conversation, conversation.id),
                  actor_id=rep.id)  # fmt: skip
            session.commit()
        await rig.relay.flush()
        await eventually(lambda: _row(rig, conversation.id).sla_due_at is None)
        state = await rig.settled(conversation.id)
        assert state.sla == []
        await rig.env.sleep(timedelta(hours=2))
        await rig.settled(conversation.id)
    assert _alerts(rig, conversation.id) == []
    # Resolution met; the unanswered first response is neither met nor breached.
    assert _facts(rig, conversation.id) == ["sla_met"]


async def test_a_running_deadline_survives_continue_as_new(rig: Rig, factory) -> None:
    conversation, _rep, _manager = _setup(factory, sla_first_response_minutes=30)
    async with rig.worker():
        await _start(rig, conversation.id, max_events_per_run=1)
        first_run = (await rig.handle(conversation.id).describe()).run_id
        await rig.inbound(conversation.id, "hello?", settle=False)  # then continue-as-new
        await _continued(rig, conversation.id, first_run)
        state = await rig.settled(conversation.id)
        [deadline] = state.sla
        assert deadline.target == SlaTarget.FIRST_RESPONSE
        await rig.env.sleep(timedelta(minutes=31))
        await eventually(lambda: len(_alerts(rig, conversation.id)) == 2)
    assert [text.split(" ")[2] for text in _alerts(rig, conversation.id)] == ["at", "SLA"]
