# mypy: disable-error-code="type-arg,union-attr,no-untyped-call,no-untyped-def"
"""Time-skipping tests of automation in the real ``ConversationWorkflow``, run by the real worker
(store, SMS and automation activities on the test database; the simulator as the provider).

The shipped rules fire at the right simulated moment and not otherwise; re-arming; a reply that
makes a pending wait skip; run_once; the loop cap; continue-as-new; hot reload; a crash between
deciding and acting; time to first response stays a human measure."""

from __future__ import annotations

import asyncio
import shutil
import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from temporalio import activity
from temporalio.client import WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy

from activities.automation import AutomationActivities
from inbox.cli.worker import DB_THREADS
from inbox.contracts import (
    ACTIVITY_RUN_RULE,
    TASK_QUEUE,
    ConversationInput,
    RunRuleInput,
    RunRuleResult,
    conversation_workflow_id,
)
from inbox.models import (
    ComplianceSettings,
    ContactEvent,
    Conversation,
    Message,
    Notification,
    RuleAction,
    RuleRun,
    SimulatorMessage,
)
from inbox.providers import ProviderRejected, SimulatorProvider
from inbox.rules.registry import registry_for
from tests.polling import eventually
from tests.rules.conftest import REPO, Rig
from workflows.conversation import ConversationWorkflow

SLOW = "alert-manager-on-slow-reply"
CLOSE = "close-after-3-quiet-days"
ACK = "acknowledge-new-conversation"
ACK_AFTER_HOURS = "acknowledge-new-conversation-after-hours"
PRICING = "route-pricing-to-sales"


def _setup(factory, *, inbox_name: str = "Support", hours: dict | None = None):
    manager = factory.user(name="Maya Manager", role="manager")
    rep = factory.user(name="Rex Rep", manager_id=manager.id)
    inbox = factory.inbox(name=inbox_name, business_hours=hours or {}, timezone="UTC")
    channel = factory.channel(default_inbox=inbox)
    contact = factory.contact(name="Ada Lovelace")
    conversation = factory.conversation(channel=channel, contact=contact, assignee_id=rep.id)
    return conversation, rep, manager


def _runs(rig: Rig, rule: str) -> list[RuleRun]:
    with rig.sessions() as session:
        return list(
            session.scalars(select(RuleRun).where(RuleRun.rule == rule).order_by(RuleRun.id))
        )


def _count(rig: Rig, model, *where) -> int:
    with rig.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _automated(rig: Rig) -> list[Message]:
    with rig.sessions() as session:
        return list(
            session.scalars(select(Message).where(Message.automated.is_(True)).order_by(Message.id))
        )


def _handed_to_provider(rig: Rig) -> list[str]:
    """Bodies the simulator (the provider) was given, in order."""
    with rig.sessions() as session:
        return list(
            session.scalars(
                select(SimulatorMessage.body)
                .where(SimulatorMessage.direction == "outbound")
                .order_by(SimulatorMessage.id)
            )
        )


async def _start(rig: Rig, conversation_id: int, **inputs) -> None:
    """Start the conversation's workflow ahead of its first signal (to pass inputs)."""
    await rig.env.client.start_workflow(
        ConversationWorkflow.run,
        ConversationInput(conversation_id=conversation_id, **inputs),
        id=conversation_workflow_id(conversation_id),
        task_queue=TASK_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


async def test_slow_reply_alerts_the_manager_after_15_minutes_not_before(
    rig: Rig, shipped_rules: Path, factory
) -> None:
    conversation, _rep, manager = _setup(factory)
    async with rig.worker():
        t0 = await rig.now()
        await rig.inbound(conversation.id, "hello?")
        # The acknowledgement went out at once; it does not count as a reply.
        assert _handed_to_provider(rig) == [
            "Hi Ada, thanks for your message! Someone from Support will reply shortly."
        ]
        waits = {w.rule: w for w in (await rig.state(conversation.id)).automation.waits}
        assert abs((waits[SLOW].due_at - t0) - timedelta(minutes=15)) < timedelta(seconds=5)
        await rig.env.sleep(timedelta(minutes=14))
        await rig.settled(conversation.id)
        assert _runs(rig, SLOW) == []
        assert _count(rig, Notification) == 0
        await rig.env.sleep(timedelta(minutes=2))
        await eventually(lambda: _runs(rig, SLOW))
    (run,) = _runs(rig, SLOW)
    assert (run.outcome, run.actions[0]["status"]) == ("fired", "done")
    assert run.trigger_key.startswith("msg-")
    assert run.version
    evaluated = run.evaluated_at.replace(tzinfo=t0.tzinfo)
    assert timedelta(minutes=15) <= evaluated - t0 < timedelta(minutes=15, seconds=5)
    with rig.sessions() as session:
        (note,) = session.scalars(select(Notification))
    assert note.user_id == manager.id
    assert note.text == "Ada Lovelace has waited 15 minutes for a reply from Rex Rep in Support."


async def test_newer_inbound_rearms_the_wait(rig: Rig, shipped_rules: Path, factory) -> None:
    conversation, _rep, _manager = _setup(factory)
    async with rig.worker():
        await rig.inbound(conversation.id, "hi")
        await rig.env.sleep(timedelta(minutes=10))
        second = await rig.inbound(conversation.id, "anyone?")
        await rig.env.sleep(timedelta(minutes=6))  # 16 min after the first message
        await rig.settled(conversation.id)
        assert _runs(rig, SLOW) == []
        await rig.env.sleep(timedelta(minutes=10))
        await eventually(lambda: _runs(rig, SLOW))
    (run,) = _runs(rig, SLOW)
    assert (run.outcome, run.trigger_key) == ("fired", f"msg-{second.id}")
    assert _count(rig, Notification) == 1


async def test_a_reply_makes_the_pending_wait_skip_with_the_reason(
    rig: Rig, shipped_rules: Path, factory
) -> None:
    conversation, rep, _manager = _setup(factory)
    async with rig.worker():
        await rig.inbound(conversation.id, "hi")
        await rig.env.sleep(timedelta(minutes=5))
        await rig.reply(conversation.id, "Hello Ada, how can I help?", rep.id)
        await rig.env.sleep(timedelta(minutes=11))
        await eventually(lambda: _runs(rig, SLOW))
    (run,) = _runs(rig, SLOW)
    assert run.outcome == "skipped"
    assert run.reason == "conversation.awaiting_reply is false (needs true)"
    assert _count(rig, Notification) == 0


async def test_close_after_three_quiet_days(rig: Rig, shipped_rules: Path, factory) -> None:
    conversation, rep, _manager = _setup(factory)
    async with rig.worker():
        await rig.inbound(conversation.id, "thanks")
        await rig.env.sleep(timedelta(hours=1))
        await rig.reply(conversation.id, "You're welcome!", rep.id)
        await rig.env.sleep(timedelta(days=3) - timedelta(minutes=1))
        await rig.settled(conversation.id)
        assert _runs(rig, CLOSE) == []
        await rig.env.sleep(timedelta(minutes=2))
        await eventually(lambda: _runs(rig, CLOSE))
        state = await rig.settled(conversation.id)
    (run,) = _runs(rig, CLOSE)
    assert run.outcome == "fired"
    assert [a["kind"] for a in run.actions] == ["send_sms", "close"]
    assert [a["status"] for a in run.actions] == ["done", "done"]
    # The workflow heard the close the action made, and the closing SMS reached the provider.
    assert state.status == "closed"
    with rig.sessions() as session:
        assert session.get(Conversation, conversation.id).status == "closed"
        (sms,) = session.scalars(select(Message).where(Message.automation == CLOSE))
    assert sms.automated
    assert sms.status == "delivered"
    assert _handed_to_provider(rig)[-1].startswith("Thanks Ada! We'll close this conversation")


async def test_close_waits_when_the_contact_replies_again(
    rig: Rig, shipped_rules: Path, factory
) -> None:
    conversation, rep, _manager = _setup(factory)
    async with rig.worker():
        await rig.inbound(conversation.id, "hi")
        await rig.reply(conversation.id, "Hello!", rep.id)
        await rig.env.sleep(timedelta(days=2))
        await rig.inbound(conversation.id, "one more thing")
        last = await rig.reply(conversation.id, "Sure", rep.id)
        await rig.env.sleep(timedelta(days=1, hours=1))
        await rig.settled(conversation.id)
        assert _runs(rig, CLOSE) == []
        with rig.sessions() as session:
            assert session.get(Conversation, conversation.id).status == "open"
        await rig.env.sleep(timedelta(days=2))
        await eventually(lambda: _runs(rig, CLOSE))
    assert _runs(rig, CLOSE)[0].trigger_key == f"msg-{last.id}"


async def test_acknowledge_once_in_business_hours(rig: Rig, shipped_rules: Path, factory) -> None:
    conversation, _rep, _manager = _setup(factory)  # empty schedule: always open
    async with rig.worker():
        await rig.inbound(conversation.id, "hello")
        await rig.inbound(conversation.id, "hello again")
    assert [m.body for m in _automated(rig)] == [
        "Hi Ada, thanks for your message! Someone from Support will reply shortly."
    ]
    assert _automated(rig)[0].status == "delivered"
    assert [r.outcome for r in _runs(rig, ACK)] == ["fired"]
    # The after-hours twin was evaluated and skipped, with its reason.
    after = _runs(rig, ACK_AFTER_HOURS)
    assert after[0].reason == "inbox.within_business_hours is true (needs false)"


async def test_acknowledge_outside_business_hours_says_when_we_are_back(
    rig: Rig, shipped_rules: Path, factory
) -> None:
    now = await rig.now()
    tomorrow = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[(now.weekday() + 1) % 7]
    conversation, _rep, _manager = _setup(factory, hours={tomorrow: [["09:00", "17:00"]]})
    async with rig.worker():
        await rig.inbound(conversation.id, "hello")
    assert _handed_to_provider(rig) == [
        "Hi Ada, thanks for your message! Our team is away right now and will be back "
        "tomorrow at 9:00."
    ]


async def test_pricing_goes_to_sales_round_robin(rig: Rig, shipped_rules: Path, factory) -> None:
    conversation, _rep, _manager = _setup(factory)
    sellers = [factory.user(name="Sam Seller"), factory.user(name="Sue Seller")]
    sales = factory.inbox(name="Sales", members=sellers)
    async with rig.worker():
        await rig.inbound(conversation.id, "What's your PRICING?")
        state = await rig.settled(conversation.id)
    with rig.sessions() as session:
        stored = session.get(Conversation, conversation.id)
        assert stored.inbox_id == sales.id
        assert stored.assignee_id == min(s.id for s in sellers)
        notes = list(session.scalars(select(ContactEvent).where(ContactEvent.kind == "note")))
    # The workflow heard the move and the assignment the actions made.
    assert (state.inbox_id, state.assignee_id) == (sales.id, min(s.id for s in sellers))
    assert (
        notes[0].summary
        == 'Moved to Sales by automation: the contact asked "What\'s your PRICING?"'
    )
    assert notes[0].automation == PRICING


async def test_a_later_rule_sees_the_inbox_an_earlier_rule_moved_to(
    rig: Rig, shipped_rules: Path, factory
) -> None:
    """Routing runs first (the shipped files are numbered), so the acknowledgement that follows
    on the same message speaks for Sales, always open, not for Support, closed now."""
    now = await rig.now()
    tomorrow = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[(now.weekday() + 1) % 7]
    conversation, _rep, _manager = _setup(factory, hours={tomorrow: [["09:00", "17:00"]]})
    factory.inbox(name="Sales", members=[factory.user(name="Sam Seller")])  # no hours: open
    async with rig.worker():
        await rig.inbound(conversation.id, "What does the annual plan cost?")
        await rig.settled(conversation.id)
    assert _handed_to_provider(rig) == [
        "Hi Ada, thanks for your message! Someone from Sales will reply shortly."
    ]
    assert [r.outcome for r in _runs(rig, ACK_AFTER_HOURS)] == ["skipped"]


async def test_other_words_stay_in_support(rig: Rig, shipped_rules: Path, factory) -> None:
    conversation, _rep, _manager = _setup(factory)
    factory.inbox(name="Sales")
    async with rig.worker():
        await rig.inbound(conversation.id, "my order is late")
    with rig.sessions() as session:
        assert session.get(Conversation, conversation.id).inbox.name == "Support"
    assert _runs(rig, PRICING)[0].outcome == "skipped"


async def test_automated_messages_do_not_trigger_message_rules(
    rig: Rig, shipped_rules: Path, factory
) -> None:
    conversation, _rep, _manager = _setup(factory)
    async with rig.worker():
        first = await rig.inbound(conversation.id, "hi")
        state = await rig.settled(conversation.id)
    # The acknowledgement (an automated message_sent) did not re-arm close-after-3-quiet-days:
    # it still waits on the contact's message.
    assert state.messages_sent == 1
    assert {w.rule: w.trigger_key for w in state.automation.waits}[CLOSE] == f"msg-{first.id}"


async def test_time_to_first_response_counts_only_a_human_reply(
    rig: Rig, shipped_rules: Path, factory
) -> None:
    conversation, rep, _manager = _setup(factory)
    async with rig.worker():
        await rig.inbound(conversation.id, "hello")
        assert len(_automated(rig)) == 1  # acknowledged at once
        await rig.env.sleep(timedelta(minutes=30))
        await rig.reply(conversation.id, "Hi Ada, Rex here.", rep.id)
        await rig.settled(conversation.id)
    with rig.sessions() as session:
        stored = session.get(Conversation, conversation.id)
        assert stored.first_response_at is not None
        # The automated acknowledgement at once did not stop the clock: the human reply did.
        seconds = stored.time_to_first_response_seconds
        assert seconds is not None and 30 * 60 <= seconds < 30 * 60 + 5


LOOP_RULE = """
- name: echo
  trigger: message_received
  then:
    - send_sms: "Echo: {{ message.body }}"
"""


async def test_loop_cap_stops_automated_sends_and_records_it(
    rig: Rig, rules_dir: Path, factory
) -> None:
    (rules_dir / "echo.yaml").write_text(LOOP_RULE)
    rig.sends_per_hour = 3
    # The hourly loop cap is under test here, not the daily cap per contact (3 by default).
    with rig.sessions() as session:
        session.get_one(ComplianceSettings, 1).automated_per_day = 10
        session.commit()
    conversation, _rep, _manager = _setup(factory)
    async with rig.worker():
        for n in range(5):
            await rig.inbound(conversation.id, f"n{n}")
        runs = _runs(rig, "echo")
        assert [r.outcome for r in runs] == ["fired", "fired", "fired", "skipped", "skipped"]
        assert runs[3].reason == (
            "automated send cap reached: 3 SMS sent by automation in the last hour (limit 3)"
        )
        assert _handed_to_provider(rig) == ["Echo: n0", "Echo: n1", "Echo: n2"]
        # An hour later the window has moved on.
        await rig.env.sleep(timedelta(hours=1, minutes=1))
        await rig.inbound(conversation.id, "again")
    assert _runs(rig, "echo")[-1].outcome == "fired"
    assert len(_automated(rig)) == 4


RUN_ONCE_RULE = """
- name: tag-first-contact
  trigger: message_received
  run_once: true
  then:
    - add_tag: first-contact
    - notify: {to: assignee, text: "New: {{ message.body }}"}
"""


async def test_run_once_survives_continue_as_new(rig: Rig, rules_dir: Path, factory) -> None:
    (rules_dir / "once.yaml").write_text(RUN_ONCE_RULE)
    conversation, _rep, _manager = _setup(factory)
    async with rig.worker():
        await _start(rig, conversation.id, max_events_per_run=2)
        first_run = (await rig.handle(conversation.id).describe()).run_id
        first = await rig.inbound(conversation.id, "one")
        second = await rig.inbound(conversation.id, "two", settle=False)  # continue-as-new
        await _continued(rig, conversation.id, first_run)
        await rig.settled(conversation.id, f"msg-{second.id}")
        third = await rig.inbound(conversation.id, "three")
        described = await rig.handle(conversation.id).describe()
        state = await rig.state(conversation.id)
    assert described.run_id != first_run
    assert f"msg-{third.id}" in state.seen_keys
    assert state.automation.ran_once == ["tag-first-contact"]
    assert [r.trigger_key for r in _runs(rig, "tag-first-contact")] == [f"msg-{first.id}"]
    assert _count(rig, Notification) == 1


async def _continued(rig: Rig, conversation_id: int, run_id: str) -> None:
    """Wait until run ``run_id`` has handed over to the next (without queries: the test server
    leaves a query that reaches a run as it continues as new unanswered, and stops skipping
    time until it times out)."""
    old = rig.env.client.get_workflow_handle(
        conversation_workflow_id(conversation_id), run_id=run_id
    )

    async def handed_over() -> bool:
        return (await old.describe()).status == WorkflowExecutionStatus.CONTINUED_AS_NEW

    await eventually(handed_over)


async def test_pending_wait_survives_continue_as_new(rig: Rig, rules_dir: Path, factory) -> None:
    # Only the slow-reply rule: no acknowledgement, so exactly one event, then a new run.
    shutil.copy(REPO / "rules" / "30-slow-reply.yaml", rules_dir)
    conversation, _rep, _manager = _setup(factory)
    async with rig.worker():
        await _start(rig, conversation.id, max_events_per_run=1)
        first_run = (await rig.handle(conversation.id).describe()).run_id
        await rig.inbound(conversation.id, "hi", settle=False)  # then continue-as-new
        await _continued(rig, conversation.id, first_run)
        await rig.settled(conversation.id)
        waits = (await rig.state(conversation.id)).automation.waits
        assert SLOW in {w.rule for w in waits}
        await rig.env.sleep(timedelta(minutes=16))
        await eventually(lambda: _runs(rig, SLOW))
    assert _runs(rig, SLOW)[0].outcome == "fired"


async def test_edited_rule_applies_to_a_pending_wait(
    rig: Rig, shipped_rules: Path, factory
) -> None:
    conversation, _rep, _manager = _setup(factory)
    path = shipped_rules / "30-slow-reply.yaml"
    before = path.read_text()
    async with rig.worker():
        await rig.inbound(conversation.id, "hi")
        old_version = _version(rig, SLOW)
        path.write_text(before.replace("has waited 15 minutes", "is still waiting"))
        await rig.env.sleep(timedelta(minutes=16))
        await eventually(lambda: _runs(rig, SLOW))
    with rig.sessions() as session:
        (note,) = session.scalars(select(Notification))
    assert "is still waiting" in note.text
    (run,) = _runs(rig, SLOW)
    assert run.version != old_version


def _version(rig: Rig, rule: str) -> str:
    found = registry_for(rig.settings.rules_dir).current().get(rule)
    assert found is not None
    return found.version


class CrashAfterActing(AutomationActivities):
    """The first attempt of each rule's step acts and commits, then the worker "dies" before
    reporting back; Temporal retries it."""

    attempts: list[int]

    @activity.defn(name=ACTIVITY_RUN_RULE)
    async def run_rule(self, request: RunRuleInput) -> RunRuleResult:
        result = await super().run_rule(request)
        self.attempts.append(activity.info().attempt)
        if activity.info().attempt == 1:
            raise RuntimeError("worker crashed after acting")
        return result


async def test_crash_between_deciding_and_acting_never_sends_twice(
    rig: Rig, shipped_rules: Path, factory
) -> None:
    conversation, _rep, _manager = _setup(factory)
    crashing = rig.automation(CrashAfterActing)
    crashing.attempts = []
    async with rig.worker(crashing):
        await rig.inbound(conversation.id, "hello")
        await eventually(lambda: _handed_to_provider(rig))
        await rig.settled(conversation.id)
    assert _handed_to_provider(rig) == [
        "Hi Ada, thanks for your message! Someone from Support will reply shortly."
    ]
    assert len(_automated(rig)) == 1
    assert _count(rig, RuleAction) == 1
    assert 2 in crashing.attempts
    (run,) = _runs(rig, ACK)
    assert run.actions[0]["status"] == "done"


ECHO_RULE = """
- name: got-it
  trigger: message_received
  then:
    - send_sms: "Got it"
"""


class HangingProvider(SimulatorProvider):
    """A provider whose sends hang until ``release`` is set (a dead connection)."""

    def __init__(self, sessions) -> None:
        super().__init__(sessions)
        self.release = threading.Event()
        self.calls = 0

    def send(self, sms):
        self.calls += 1
        self.release.wait(timeout=60)
        return super().send(sms)


async def test_a_hung_provider_slows_sending_never_the_conversations_events(
    rig: Rig, rules_dir: Path, factory
) -> None:
    (rules_dir / "echo.yaml").write_text(ECHO_RULE)
    provider = rig.provider = HangingProvider(rig.sessions)
    conversations = [
        factory.conversation(contact=factory.contact(name=f"C{n}"), channel=factory.channel())
        for n in range(DB_THREADS + 2)
    ]
    try:
        async with rig.worker():
            for conversation in conversations:
                await rig.inbound(conversation.id, "hello", settle=False)
            # Every conversation's event is handled (clocks written, its rule run recorded)
            # while every send hangs: sends and events do not share their threads.
            started = asyncio.get_running_loop().time()
            await eventually(lambda: len(_runs(rig, "got-it")) == len(conversations))
            await eventually(lambda: provider.calls == len(conversations))
            handled_in = asyncio.get_running_loop().time() - started
            with rig.sessions() as session:
                rows = session.scalars(
                    select(Conversation).where(Conversation.id.in_([c.id for c in conversations]))
                ).all()
                assert all(row.last_inbound_at is not None for row in rows)
            assert _handed_to_provider(rig) == []
            provider.release.set()
            await eventually(lambda: len(_handed_to_provider(rig)) == len(conversations))
    finally:
        provider.release.set()
    assert handled_in < 10
    assert _handed_to_provider(rig) == ["Got it"] * len(conversations)  # each sent once


BROKEN_TEMPLATE_RULES = """
- name: divide
  trigger: message_received
  then:
    - add_note: "{{ 1 / 0 }}"
- name: tag-it
  trigger: message_received
  then:
    - add_tag: seen
"""


async def test_a_template_that_fails_to_render_fails_its_action_not_the_conversation(
    rig: Rig, rules_dir: Path, factory
) -> None:
    (rules_dir / "broken.yaml").write_text(BROKEN_TEMPLATE_RULES)
    conversation, _rep, _manager = _setup(factory)
    async with rig.worker():
        await rig.inbound(conversation.id, "hello")
        await rig.inbound(conversation.id, "again")
        status = (await rig.handle(conversation.id).describe()).status
    assert status == WorkflowExecutionStatus.RUNNING
    divide = _runs(rig, "divide")
    assert [run.outcome for run in divide] == ["fired", "fired"]
    assert divide[0].actions[0]["status"] == "failed"
    assert "division by zero" in divide[0].actions[0]["detail"]
    assert len(_runs(rig, "tag-it")) == 2  # the next rule of each event ran
    with rig.sessions() as session:
        assert session.get_one(Conversation, conversation.id).tags == ["seen"]


class RejectingProvider(SimulatorProvider):
    """Refuses every send for good (a number that opted out at the carrier), counting them."""

    def __init__(self, sessions) -> None:
        super().__init__(sessions)
        self.rejection = ProviderRejected("21610", "Attempt to send to unsubscribed recipient")
        self.submitted = 0

    def send(self, sms):
        self.submitted += 1
        return super().send(sms)


async def test_a_rejected_auto_reply_is_submitted_once_and_marked_failed(
    rig: Rig, rules_dir: Path, factory
) -> None:
    (rules_dir / "echo.yaml").write_text(ECHO_RULE)
    provider = rig.provider = RejectingProvider(rig.sessions)
    conversation, _rep, _manager = _setup(factory)
    async with rig.worker():
        await rig.inbound(conversation.id, "hello")
        await eventually(lambda: [m.status for m in _automated(rig)] == ["failed"])
        await rig.settled(conversation.id)
    assert provider.submitted == 1
    (reply,) = _automated(rig)
    assert reply.error_code == "21610"
    assert reply.error_message == "Attempt to send to unsubscribed recipient"
