# mypy: disable-error-code="type-arg,union-attr,no-untyped-call,no-untyped-def"
"""``wait: 2h`` with ``business: true`` in the real ``ConversationWorkflow`` on the
time-skipping server, run by the real worker: the timer counts only the inbox's open hours
(Mon-Fri 09:00-17:00 in New York, a holiday on Monday), and a plain wait beside it does not."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from inbox.contracts import as_utc
from inbox.models import RuleRun
from tests.polling import eventually
from tests.rules.conftest import Rig

NY = ZoneInfo("America/New_York")
WEEKDAYS = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
BUSINESS = "nudge-in-business-hours"
PLAIN = "nudge-in-plain-time"
RULES = f"""\
- name: {BUSINESS}
  trigger: message_received
  wait: 2h
  business: true
  then:
    - add_note: two business hours
- name: {PLAIN}
  trigger: message_received
  wait: 2h
  then:
    - add_note: two hours
"""


def _next_friday_16(now: datetime) -> datetime:
    """The next Friday 16:00 in New York after ``now`` (at least a minute ahead)."""
    local = now.astimezone(NY)
    day = local.date() + timedelta(days=(4 - local.weekday()) % 7)
    friday = datetime.combine(day, time(16), tzinfo=NY)
    if friday - timedelta(minutes=1) <= local:
        friday += timedelta(days=7)
    return friday


def _runs(rig: Rig, rule: str) -> list[RuleRun]:
    with rig.sessions() as session:
        return list(
            session.scalars(select(RuleRun).where(RuleRun.rule == rule).order_by(RuleRun.id))
        )


async def _sleep_until(rig: Rig, moment: datetime, conversation_id: int) -> None:
    await rig.env.sleep(moment - await rig.now())
    await rig.settled(conversation_id)


async def test_two_business_hours_from_friday_16_00_skip_the_weekend_and_a_holiday(
    rig: Rig, rules_dir: Path, factory
) -> None:
    (rules_dir / "nudge.yaml").write_text(RULES)
    friday = _next_friday_16(await rig.now())
    monday = friday.date() + timedelta(days=3)
    inbox = factory.inbox(
        name="Support",
        timezone="America/New_York",
        business_hours=WEEKDAYS,
        holidays=[monday.isoformat()],
    )
    channel = factory.channel(default_inbox=inbox)
    conversation = factory.conversation(channel=channel, contact=factory.contact())
    async with rig.worker():
        await rig.env.sleep(friday - await rig.now())
        message = await rig.inbound(conversation.id, "hello?")
        t0 = message.created_at  # the trigger: Friday 16:00 and the seconds the steps took
        late = t0 - friday
        assert timedelta(0) <= late < timedelta(minutes=5)
        # By hand: 1 h open on Friday (16:00-17:00), Saturday and Sunday closed, Monday a
        # holiday, so the second hour is Tuesday 09:00-10:00. The plain wait: Friday 18:00.
        tuesday_10 = datetime.combine(monday + timedelta(days=1), time(10), tzinfo=NY)
        waits = {w.rule: w for w in (await rig.state(conversation.id)).automation.waits}
        assert waits[BUSINESS].due_at == tuesday_10 + late
        assert waits[PLAIN].due_at == t0 + timedelta(hours=2)

        await _sleep_until(rig, t0 + timedelta(hours=2, minutes=1), conversation.id)
        await eventually(lambda: _runs(rig, PLAIN))
        assert _runs(rig, BUSINESS) == []
        # Monday 10:00 is when it would end without the holiday: it has not.
        monday_10 = datetime.combine(monday, time(10), tzinfo=NY)
        await _sleep_until(rig, monday_10 + late + timedelta(minutes=1), conversation.id)
        assert _runs(rig, BUSINESS) == []
        await _sleep_until(rig, tuesday_10 + late - timedelta(minutes=1), conversation.id)
        assert _runs(rig, BUSINESS) == []
        await rig.env.sleep(timedelta(minutes=2))
        await eventually(lambda: _runs(rig, BUSINESS))
    [run] = _runs(rig, BUSINESS)
    assert run.outcome == "fired"
    assert t0 <= as_utc(run.triggered_at) < t0 + timedelta(minutes=1)  # when it was armed
    fired_at = as_utc(run.evaluated_at)
    assert tuesday_10 + late <= fired_at < tuesday_10 + late + timedelta(minutes=2)
    assert fired_at.astimezone(NY).strftime("%A %H:%M") in ("Tuesday 10:00", "Tuesday 10:01")
    # The plain wait fired once, at Friday 18:00, and never again.
    [plain] = _runs(rig, PLAIN)
    assert plain.outcome == "fired"
    plain_at = as_utc(plain.evaluated_at)
    assert t0 + timedelta(hours=2) <= plain_at < t0 + timedelta(hours=2, minutes=1)


async def test_a_business_wait_after_a_move_counts_the_new_inboxs_hours(
    rig: Rig, rules_dir: Path, factory
) -> None:
    # The first rule moves the conversation to Sales, which has no hours (every minute counts):
    # the wait armed next counts Sales's time, not Support's (where it would end on Monday).
    (rules_dir / "nudge.yaml").write_text(
        f"- name: to-sales\n  trigger: message_received\n  then:\n    - move: Sales\n{RULES}"
    )
    support = factory.inbox(name="Support", timezone="America/New_York", business_hours=WEEKDAYS)
    factory.inbox(name="Sales", timezone="UTC", business_hours={})
    channel = factory.channel(default_inbox=support)
    conversation = factory.conversation(channel=channel, contact=factory.contact())
    async with rig.worker():
        await rig.env.sleep(_next_friday_16(await rig.now()) - await rig.now())
        message = await rig.inbound(conversation.id, "how much is it?")
        state = await rig.state(conversation.id)
    assert state.inbox_id != support.id
    waits = {w.rule: w.due_at for w in state.automation.waits}
    assert waits == {
        BUSINESS: message.created_at + timedelta(hours=2),
        PLAIN: message.created_at + timedelta(hours=2),
    }
