# mypy: disable-error-code="type-arg,union-attr,no-untyped-call,no-untyped-def"
"""Consent in the real ``ConversationWorkflow`` on the time-skipping server, run by the real
worker: quiet-hours holds on durable timers (sent at the window's opening, cancelled by an
opt-out, surviving a restart and continue-as-new), the guard at the moment of sending, the
frequency cap, and the reminder of an undecided possible opt-out."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowExecutionStatus

from inbox.contracts import TASK_QUEUE, ConversationInput, conversation_workflow_id
from inbox.models import (
    ComplianceSettings,
    ConsentState,
    Message,
    MessageStatus,
    Notification,
    RuleRun,
    SimulatorMessage,
)
from inbox.services.consent import OPTED_OUT_CODE
from tests.polling import eventually
from tests.rules.conftest import Rig
from workflows.conversation import ConversationWorkflow

NEW_YORK = ZoneInfo("America/New_York")

NUDGE = """
- name: nudge
  trigger: message_received
  wait: 30m
  if:
    - conversation.awaiting_reply: true
  then:
    - send_sms: "Still there? We can help."
"""


def _setup(factory):
    manager = factory.user(name="Maya Manager", role="manager")
    rep = factory.user(name="Rex Rep", manager_id=manager.id)
    inbox = factory.inbox(name="Support", timezone="America/New_York", members=[rep, manager])
    channel = factory.channel(default_inbox=inbox)
    contact = factory.contact(name="Ada Lovelace", timezone="America/New_York")
    return factory.conversation(channel=channel, contact=contact, assignee_id=rep.id), manager


def _sent(rig: Rig) -> list[str]:
    with rig.sessions() as session:
        return list(
            session.scalars(
                select(SimulatorMessage.body)
                .where(SimulatorMessage.direction == "outbound")
                .order_by(SimulatorMessage.id)
            )
        )


def _automated(rig: Rig) -> list[Message]:
    with rig.sessions() as session:
        return list(
            session.scalars(select(Message).where(Message.automated.is_(True)).order_by(Message.id))
        )


async def _until(rig: Rig, hour: int, minute: int = 0) -> datetime:
    """Skip to the next ``hour:minute`` in New York; return that moment."""
    now = await rig.now()
    local = now.astimezone(NEW_YORK)
    target = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if target <= local:
        target += timedelta(days=1)
    await rig.env.sleep(target - now)
    return target


async def _held(rig: Rig, conversation_id: int) -> list:
    return list((await rig.state(conversation_id)).holds)


@pytest.mark.quiet_hours
async def test_a_rule_firing_at_half_past_ten_at_night_sends_at_eight_not_before(
    rig: Rig, rules_dir: Path, factory
) -> None:
    (rules_dir / "nudge.yaml").write_text(NUDGE)
    conversation, _manager = _setup(factory)
    async with rig.worker():
        evening = await _until(rig, 22, 0)
        await rig.inbound(conversation.id, "hello?")
        await rig.env.sleep(timedelta(minutes=31))  # the rule fires at 22:30 contact time
        await eventually(lambda: _automated(rig))
        (held,) = _automated(rig)
        assert held.status == MessageStatus.HELD
        next_day = evening.date() + timedelta(days=1)
        morning = datetime(next_day.year, next_day.month, next_day.day, 8, tzinfo=NEW_YORK)
        assert held.held_until is not None
        assert held.held_until.astimezone(NEW_YORK) == morning
        assert [hold.until for hold in await _held(rig, conversation.id)] == [morning]
        await rig.env.sleep(morning - await rig.now() - timedelta(minutes=1))
        await rig.settled(conversation.id)
        assert _sent(rig) == []  # 07:59: still held
        await rig.env.sleep(timedelta(minutes=2))
        await rig.settled(conversation.id)
        await eventually(lambda: _sent(rig))
        await rig.settled(conversation.id)
    assert _sent(rig) == ["Still there? We can help."]
    (message,) = _automated(rig)
    assert message.status == MessageStatus.DELIVERED and message.held_until is None
    (run,) = [r for r in _runs(rig) if r.rule == "nudge"]
    assert run.actions[0]["detail"].startswith(f"held message {message.id} until")


def _runs(rig: Rig) -> list[RuleRun]:
    with rig.sessions() as session:
        return list(session.scalars(select(RuleRun).order_by(RuleRun.id)))


@pytest.mark.quiet_hours
async def test_an_opt_out_during_the_hold_cancels_it(rig: Rig, rules_dir: Path, factory) -> None:
    (rules_dir / "nudge.yaml").write_text(NUDGE)
    conversation, _manager = _setup(factory)
    async with rig.worker():
        await _until(rig, 22, 0)
        await rig.inbound(conversation.id, "hello?")
        await rig.env.sleep(timedelta(minutes=31))
        await eventually(lambda: _automated(rig))
        # The contact texts STOP before the morning: the consent service cancels the hold.
        from inbox.services import consent
        from inbox.services.inbound import receive_inbound

        with rig.sessions() as session:
            receive_inbound(
                session,
                provider="simulator",
                provider_message_id="SMstop",
                from_number=conversation.contact_number,
                to_number=conversation.channel.number,
                body="STOP",
                media=[],
            )
            session.commit()
        await rig.relay.flush()
        await eventually(lambda: rig_holds_empty(rig, conversation.id))
        await rig.env.sleep(timedelta(hours=12))
        await rig.settled(conversation.id)
    held = _automated(rig)[0]
    assert held.status == MessageStatus.CANCELLED
    assert held.error_code == OPTED_OUT_CODE
    # Nothing reached the phone but the one confirmation of the opt-out.
    assert _sent(rig) == [consent.replies.opt_out(conversation.channel)]


async def rig_holds_empty(rig: Rig, conversation_id: int) -> bool:
    return not await _held(rig, conversation_id)


@pytest.mark.quiet_hours
async def test_a_held_send_survives_a_worker_restart_and_continue_as_new(
    rig: Rig, rules_dir: Path, factory
) -> None:
    # Once: the later text must not arm another nudge.
    once = NUDGE.replace("  wait: 30m", "  wait: 30m\n  run_once: true")
    (rules_dir / "nudge.yaml").write_text(once)
    # A worker that keeps no workflow in memory: every task starts from the history alone, as
    # after a restart.
    rig.settings = rig.settings.model_copy(update={"worker_max_cached_workflows": 0})
    conversation, _manager = _setup(factory)
    await rig.env.client.start_workflow(
        ConversationWorkflow.run,
        # The text, the held nudge, then the next text: continue-as-new carries the hold.
        ConversationInput(conversation_id=conversation.id, max_events_per_run=3),
        id=conversation_workflow_id(conversation.id),
        task_queue=TASK_QUEUE,
    )
    handle = rig.handle(conversation.id)
    async with rig.worker():
        await _until(rig, 22, 0)
        await rig.inbound(conversation.id, "hello?")
        await rig.env.sleep(timedelta(minutes=31))
        await eventually(lambda: _automated(rig))
        first_run = (await handle.describe()).run_id
        await rig.inbound(conversation.id, "still here", settle=False)
        await eventually(lambda: _new_run(handle, first_run))
        await eventually(lambda: _held(rig, conversation.id))
        await _until(rig, 8, 1)
        await eventually(lambda: _sent(rig))
        await rig.settled(conversation.id)
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    assert _sent(rig) == ["Still there? We can help."]


async def _new_run(handle, first_run: str) -> bool:
    return (await handle.describe()).run_id != first_run


async def test_the_guard_blocks_a_send_at_the_moment_it_goes(rig: Rig, factory) -> None:
    conversation, _manager = _setup(factory)
    async with rig.worker():
        await rig.inbound(conversation.id, "hello")
        # Opted out after the reply was queued (the composer checked, and it was fine then).
        with rig.sessions() as session:
            session.add(
                ConsentState(
                    number=conversation.contact_number,
                    opted_out=True,
                    method="keyword",
                    keyword="STOP",
                )
            )
            session.commit()
        reply = await rig.reply(conversation.id, "Sure, here is the price.", author_id=None)
    assert _sent(rig) == []
    with rig.sessions() as session:
        blocked = session.get_one(Message, reply.id)
    assert blocked.status == MessageStatus.BLOCKED
    assert blocked.error_code == OPTED_OUT_CODE
    assert "by replying STOP" in (blocked.error_message or "")
    assert blocked.send_attempts == 0  # never reached the provider


ECHO = """
- name: echo
  trigger: message_received
  then:
    - send_sms: "Got it"
"""


async def test_the_frequency_cap_skips_and_records_past_n_a_day(
    rig: Rig, rules_dir: Path, factory
) -> None:
    (rules_dir / "echo.yaml").write_text(ECHO)
    with rig.sessions() as session:
        session.get_one(ComplianceSettings, 1).automated_per_day = 2
        session.commit()
    conversation, _manager = _setup(factory)
    async with rig.worker():
        for n in range(3):
            await rig.inbound(conversation.id, f"n{n}")
    runs = [run for run in _runs(rig) if run.rule == "echo"]
    assert [run.actions[0]["status"] for run in runs] == ["done", "done", "skipped"]
    assert runs[2].actions[0]["detail"] == (
        "frequency cap reached: 2 automated texts to this contact in the last 24 hours (limit 2)"
    )
    assert _sent(rig) == ["Got it", "Got it"]


async def test_an_undecided_possible_opt_out_reminds_the_inbox_managers(rig: Rig, factory) -> None:
    conversation, manager = _setup(factory)
    async with rig.worker():
        at = await rig.now()
        await rig.inbound(
            conversation.id, "please stop texting me", review_by=at + timedelta(days=10)
        )
        assert len((await rig.state(conversation.id)).reviews) == 1
        await rig.env.sleep(timedelta(days=9))
        await rig.settled(conversation.id)
        assert _notes(rig, manager.id) == []
        await rig.env.sleep(timedelta(days=1, minutes=1))
        await eventually(lambda: _notes(rig, manager.id))
    (note,) = _notes(rig, manager.id)
    assert "may have asked to stop texts 10 business days ago" in note
    (run,) = [r for r in _runs(rig) if r.rule == "consent-review-reminder"]
    assert run.outcome == "fired"


def _notes(rig: Rig, user_id: int) -> list[str]:
    with rig.sessions() as session:
        return list(
            session.scalars(select(Notification.text).where(Notification.user_id == user_id))
        )
