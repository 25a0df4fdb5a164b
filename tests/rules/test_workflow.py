# mypy: disable-error-code="type-arg,union-attr,no-untyped-call"
"""Time-skipping tests of automation in a workflow: the shipped rules fire at the right
simulated moment and not otherwise; re-arming; a reply that makes a pending wait skip;
run_once; the loop cap; continue-as-new; a crash between deciding and acting; hot reload."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from temporalio import activity
from temporalio.client import WorkflowHandle

from inbox.models import (
    ContactEvent,
    Conversation,
    Message,
    Notification,
    RuleAction,
    RuleRun,
)
from inbox.rules.payloads import ACTIVITY_RUN_ACTION, RunActionInput, RunActionResult
from tests.rules.conftest import Harness, eventually
from tests.rules.harness import AutomationHarness, HarnessInput, HarnessSignal
from workflows.contracts import ConversationEvent, ConversationState


def _setup(factory, *, inbox_name: str = "Support", hours: dict | None = None):
    manager = factory.user(name="Maya Manager", role="manager")
    rep = factory.user(name="Rex Rep", manager_id=manager.id)
    inbox = factory.inbox(name=inbox_name, business_hours=hours or {}, timezone="UTC")
    channel = factory.channel(default_inbox=inbox)
    contact = factory.contact(name="Ada Lovelace")
    conversation = factory.conversation(channel=channel, contact=contact, assignee_id=rep.id)
    return conversation, rep, manager


async def _start(harness: Harness, conversation: Conversation) -> WorkflowHandle:
    state = ConversationState(
        conversation_id=conversation.id,
        inbox_id=conversation.inbox_id,
        assignee_id=conversation.assignee_id,
    )
    workflow_id = f"harness-{uuid.uuid4().hex[:8]}"
    harness.workflow_ids.append(workflow_id)
    return await harness.env.client.start_workflow(
        AutomationHarness.run, HarnessInput(state), id=workflow_id, task_queue=harness.task_queue
    )


async def _signal(harness: Harness, handle: WorkflowHandle, name: str, **kw) -> None:
    before = await handle.query(AutomationHarness.handled_count)
    at = await harness.env.get_current_time()
    kw.setdefault("key", f"{name}-{uuid.uuid4().hex[:8]}")
    await handle.signal(
        AutomationHarness.event, HarnessSignal(name, ConversationEvent(at=at, **kw))
    )

    async def handled() -> bool:
        return await handle.query(AutomationHarness.handled_count) > before

    await _until(handled)


async def _until(check) -> None:
    async def poll():
        return await check()

    import asyncio

    deadline = asyncio.get_running_loop().time() + 15
    while not await poll():
        assert asyncio.get_running_loop().time() < deadline, "workflow did not catch up"
        await asyncio.sleep(0.05)


def _runs(harness: Harness, rule: str) -> list[RuleRun]:
    with harness.sessions() as session:
        return list(
            session.scalars(select(RuleRun).where(RuleRun.rule == rule).order_by(RuleRun.id))
        )


def _count(harness: Harness, model, *where) -> int:
    with harness.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


SLOW = "alert-manager-on-slow-reply"
CLOSE = "close-after-3-quiet-days"


async def test_slow_reply_alerts_the_manager_after_15_minutes_not_before(
    harness: Harness, shipped_rules: Path, factory
) -> None:
    conversation, _rep, manager = _setup(factory)
    async with harness.worker():
        handle = await _start(harness, conversation)
        t0 = await harness.env.get_current_time()
        await _signal(harness, handle, "message_received", key="msg-1", body="hello?")
        await harness.env.sleep(timedelta(minutes=14))
        state = await handle.query(AutomationHarness.automation_state)
        waits = {w.rule: w for w in state.waits}
        assert abs((waits[SLOW].due_at - t0) - timedelta(minutes=15)) < timedelta(seconds=5)
        assert _count(harness, Notification) == 0
        await harness.env.sleep(timedelta(minutes=2))
        await eventually(lambda: _runs(harness, SLOW))
    (run,) = _runs(harness, SLOW)
    assert (run.outcome, run.trigger_key, run.actions[0]["status"]) == ("fired", "msg-1", "done")
    assert run.version
    with harness.sessions() as session:
        (note,) = session.scalars(select(Notification))
    assert note.user_id == manager.id
    assert note.text == "Ada Lovelace has waited 15 minutes for a reply from Rex Rep in Support."


async def test_newer_inbound_rearms_the_wait(
    harness: Harness, shipped_rules: Path, factory
) -> None:
    conversation, _rep, _manager = _setup(factory)
    async with harness.worker():
        handle = await _start(harness, conversation)
        await _signal(harness, handle, "message_received", key="msg-1", body="hi")
        await harness.env.sleep(timedelta(minutes=10))
        await _signal(harness, handle, "message_received", key="msg-2", body="anyone?")
        await harness.env.sleep(timedelta(minutes=6))  # 16 min after the first message
        assert _runs(harness, SLOW) == []
        await harness.env.sleep(timedelta(minutes=10))
        await eventually(lambda: _runs(harness, SLOW))
    (run,) = _runs(harness, SLOW)
    assert (run.outcome, run.trigger_key) == ("fired", "msg-2")
    assert _count(harness, Notification) == 1


async def test_a_reply_makes_the_pending_wait_skip_with_the_reason(
    harness: Harness, shipped_rules: Path, factory
) -> None:
    conversation, rep, _manager = _setup(factory)
    async with harness.worker():
        handle = await _start(harness, conversation)
        await _signal(harness, handle, "message_received", key="msg-1", body="hi")
        await harness.env.sleep(timedelta(minutes=5))
        await _signal(harness, handle, "message_sent", key="msg-2", author_id=rep.id)
        await harness.env.sleep(timedelta(minutes=11))
        await eventually(lambda: _runs(harness, SLOW))
    (run,) = _runs(harness, SLOW)
    assert run.outcome == "skipped"
    assert run.reason == "conversation.awaiting_reply is false (needs true)"
    assert _count(harness, Notification) == 0


async def test_close_after_three_quiet_days(harness: Harness, shipped_rules: Path, factory) -> None:
    conversation, rep, _manager = _setup(factory)
    async with harness.worker():
        handle = await _start(harness, conversation)
        await _signal(harness, handle, "message_received", key="msg-1", body="thanks")
        await harness.env.sleep(timedelta(hours=1))
        await _signal(harness, handle, "message_sent", key="msg-2", author_id=rep.id)
        await harness.env.sleep(timedelta(days=3) - timedelta(minutes=1))
        assert _runs(harness, CLOSE) == []
        await harness.env.sleep(timedelta(minutes=2))
        await eventually(lambda: _runs(harness, CLOSE))
    (run,) = _runs(harness, CLOSE)
    assert run.outcome == "fired"
    assert [a["kind"] for a in run.actions] == ["send_sms", "close"]
    assert [a["status"] for a in run.actions] == ["done", "done"]
    with harness.sessions() as session:
        assert session.get(Conversation, conversation.id).status == "closed"
        (sms,) = session.scalars(select(Message).where(Message.automation == CLOSE))
    assert sms.automated
    assert sms.body.startswith("Thanks Ada! We'll close this conversation for now.")


async def test_close_waits_when_the_contact_replies_again(
    harness: Harness, shipped_rules: Path, factory
) -> None:
    conversation, rep, _manager = _setup(factory)
    async with harness.worker():
        handle = await _start(harness, conversation)
        await _signal(harness, handle, "message_received", key="msg-1", body="hi")
        await _signal(harness, handle, "message_sent", key="msg-2", author_id=rep.id)
        await harness.env.sleep(timedelta(days=2))
        await _signal(harness, handle, "message_received", key="msg-3", body="one more thing")
        await _signal(harness, handle, "message_sent", key="msg-4", author_id=rep.id)
        await harness.env.sleep(timedelta(days=1, hours=1))
        assert _runs(harness, CLOSE) == []
        with harness.sessions() as session:
            assert session.get(Conversation, conversation.id).status == "open"
        await harness.env.sleep(timedelta(days=2))
        await eventually(lambda: _runs(harness, CLOSE))
    assert _runs(harness, CLOSE)[0].trigger_key == "msg-4"


async def test_acknowledge_once_in_business_hours(
    harness: Harness, shipped_rules: Path, factory
) -> None:
    conversation, _rep, _manager = _setup(factory)  # empty schedule: always open
    async with harness.worker():
        handle = await _start(harness, conversation)
        await _signal(harness, handle, "message_received", key="msg-1", body="hello")
        await _signal(harness, handle, "message_received", key="msg-2", body="hello again")
    with harness.sessions() as session:
        sent = list(session.scalars(select(Message).where(Message.automated.is_(True))))
    assert [m.body for m in sent] == [
        "Hi Ada, thanks for your message! Someone from Support will reply shortly."
    ]
    assert [r.outcome for r in _runs(harness, "acknowledge-new-conversation")] == ["fired"]
    # The after-hours twin was evaluated and skipped, with its reason.
    after = _runs(harness, "acknowledge-new-conversation-after-hours")
    assert after[0].reason == "inbox.within_business_hours is true (needs false)"


async def test_acknowledge_outside_business_hours_says_when_we_are_back(
    harness: Harness, shipped_rules: Path, factory
) -> None:
    now = await harness.env.get_current_time()
    tomorrow = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[(now.weekday() + 1) % 7]
    hours = {tomorrow: [["09:00", "17:00"]]}
    conversation, _rep, _manager = _setup(factory, hours=hours)
    async with harness.worker():
        handle = await _start(harness, conversation)
        await _signal(harness, handle, "message_received", key="msg-1", body="hello")
    with harness.sessions() as session:
        (sms,) = session.scalars(select(Message).where(Message.automated.is_(True)))
    assert sms.body == (
        "Hi Ada, thanks for your message! Our team is away right now and will be back "
        "tomorrow at 9:00."
    )


async def test_pricing_goes_to_sales_round_robin(
    harness: Harness, shipped_rules: Path, factory
) -> None:
    conversation, _rep, _manager = _setup(factory)
    sellers = [factory.user(name="Sam Seller"), factory.user(name="Sue Seller")]
    sales = factory.inbox(name="Sales", members=sellers)
    async with harness.worker():
        handle = await _start(harness, conversation)
        await _signal(harness, handle, "message_received", key="msg-1", body="What's your PRICING?")
    with harness.sessions() as session:
        stored = session.get(Conversation, conversation.id)
        assert stored.inbox_id == sales.id
        assert stored.assignee_id == min(s.id for s in sellers)
        notes = list(session.scalars(select(ContactEvent).where(ContactEvent.kind == "note")))
    assert (
        notes[0].summary
        == 'Moved to Sales by automation: the contact asked "What\'s your PRICING?"'
    )
    assert notes[0].automation == "route-pricing-to-sales"


async def test_automated_messages_do_not_trigger_message_rules(
    harness: Harness, shipped_rules: Path, factory
) -> None:
    conversation, _rep, _manager = _setup(factory)
    async with harness.worker():
        handle = await _start(harness, conversation)
        await _signal(harness, handle, "message_received", key="msg-1", body="hi")
        await _signal(harness, handle, "message_sent", key="msg-2", automated=True)
        state = await handle.query(AutomationHarness.automation_state)
    # The automated send did not re-arm close-after-3-quiet-days: it still waits on msg-1.
    assert {w.rule: w.trigger_key for w in state.waits}[CLOSE] == "msg-1"


LOOP_RULE = """
- name: echo
  trigger: message_received
  then:
    - send_sms: "Echo: {{ message.body }}"
"""


async def test_loop_cap_stops_automated_sends_and_records_it(
    harness: Harness, rules_dir: Path, factory
) -> None:
    (rules_dir / "echo.yaml").write_text(LOOP_RULE)
    harness.sends_per_hour = 3
    conversation, _rep, _manager = _setup(factory)
    async with harness.worker():
        handle = await _start(harness, conversation)
        for n in range(5):
            await _signal(harness, handle, "message_received", key=f"msg-{n}", body=f"n{n}")
        outcomes = [r.outcome for r in _runs(harness, "echo")]
        assert outcomes == ["fired", "fired", "fired", "skipped", "skipped"]
        assert _runs(harness, "echo")[3].reason == (
            "automated send cap reached: 3 SMS sent by automation in the last hour (limit 3)"
        )
        # An hour later the window has moved on.
        await harness.env.sleep(timedelta(hours=1, minutes=1))
        await _signal(harness, handle, "message_received", key="msg-later", body="again")
    assert _runs(harness, "echo")[-1].outcome == "fired"
    assert _count(harness, Message, Message.automated.is_(True)) == 4


RUN_ONCE_RULE = """
- name: tag-first-contact
  trigger: message_received
  run_once: true
  then:
    - add_tag: first-contact
    - notify: {to: assignee, text: "New: {{ message.body }}"}
"""


async def test_run_once_survives_continue_as_new(
    harness: Harness, rules_dir: Path, factory
) -> None:
    (rules_dir / "once.yaml").write_text(RUN_ONCE_RULE)
    conversation, _rep, _manager = _setup(factory)
    async with harness.worker():
        handle = await _start(harness, conversation)
        await _signal(harness, handle, "message_received", key="msg-1", body="one")
        await handle.signal(AutomationHarness.continue_now)
        await _until(lambda: _new_run(handle))
        handle = harness.env.client.get_workflow_handle(handle.id)
        await _signal(harness, handle, "message_received", key="msg-2", body="two")
    assert [r.trigger_key for r in _runs(harness, "tag-first-contact")] == ["msg-1"]
    assert _count(harness, Notification) == 1


async def _new_run(handle: WorkflowHandle) -> bool:
    description = await handle.describe()
    return description.run_id != handle.result_run_id


async def test_pending_wait_survives_continue_as_new(
    harness: Harness, shipped_rules: Path, factory
) -> None:
    conversation, _rep, _manager = _setup(factory)
    async with harness.worker():
        handle = await _start(harness, conversation)
        await _signal(harness, handle, "message_received", key="msg-1", body="hi")
        await handle.signal(AutomationHarness.continue_now)
        await _until(lambda: _new_run(handle))
        await harness.env.sleep(timedelta(minutes=16))
        await eventually(lambda: _runs(harness, SLOW))
    assert _runs(harness, SLOW)[0].outcome == "fired"


async def test_edited_rule_applies_to_a_pending_wait(
    harness: Harness, shipped_rules: Path, factory
) -> None:
    conversation, _rep, _manager = _setup(factory)
    path = shipped_rules / "slow-reply.yaml"
    async with harness.worker():
        handle = await _start(harness, conversation)
        await _signal(harness, handle, "message_received", key="msg-1", body="hi")
        path.write_text(path.read_text().replace("has waited 15 minutes", "is still waiting"))
        await harness.env.sleep(timedelta(minutes=16))
        await eventually(lambda: _runs(harness, SLOW))
    with harness.sessions() as session:
        (note,) = session.scalars(select(Notification))
    assert "is still waiting" in note.text


async def test_crash_between_deciding_and_acting_never_sends_twice(
    harness: Harness, shipped_rules: Path, factory
) -> None:
    conversation, _rep, _manager = _setup(factory)
    real = harness.activities()
    attempts: list[int] = []

    @activity.defn(name=ACTIVITY_RUN_ACTION)
    async def crashing_run_action(data: RunActionInput) -> RunActionResult:
        # The first attempt acts and commits, then the worker "dies" before reporting back.
        result = await real.run_action(data)
        attempts.append(activity.info().attempt)
        if activity.info().attempt == 1:
            raise RuntimeError("worker crashed after acting")
        return result

    acts: list[Callable[..., Any]] = [
        real.load_rules,
        real.snapshot,
        real.record_run,
        crashing_run_action,
    ]
    async with harness.worker(acts):
        handle = await _start(harness, conversation)
        await _signal(harness, handle, "message_received", key="msg-1", body="hello")
    assert _count(harness, Message, Message.automated.is_(True)) == 1
    assert _count(harness, RuleAction) == 1
    assert 2 in attempts
    (run,) = _runs(harness, "acknowledge-new-conversation")
    assert run.actions[0]["status"] == "done"
