# mypy: disable-error-code="type-arg,union-attr,no-untyped-call,no-untyped-def"
"""Send later in the real ``ConversationWorkflow`` on the time-skipping server, run by the real
worker: a message scheduled three days ahead goes at that second, across a worker that keeps
nothing in memory and a continue-as-new; a cancelled one never goes; an edited one goes at its
new time with its new text; quiet hours are checked when it goes."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowExecutionStatus

from inbox.contracts import TASK_QUEUE, ConversationInput, conversation_workflow_id
from inbox.models import Conversation, Message, MessageStatus, SimulatorMessage, User
from inbox.services import scheduled
from inbox.services.outbound import cancel_held, queue_message
from tests.polling import eventually
from tests.rules.conftest import Rig
from workflows.conversation import ConversationWorkflow

NEW_YORK = ZoneInfo("America/New_York")


def _setup(factory):
    rep = factory.user(name="Rex Rep")
    inbox = factory.inbox(name="Support", timezone="America/New_York", members=[rep])
    channel = factory.channel(default_inbox=inbox)
    contact = factory.contact(name="Ada Lovelace", timezone="America/New_York")
    return factory.conversation(channel=channel, contact=contact, assignee_id=rep.id), rep


async def _schedule(rig: Rig, conversation_id: int, rep_id: int, body: str, at: datetime) -> int:
    with rig.sessions() as session:
        message = queue_message(
            session,
            conversation=session.get_one(Conversation, conversation_id),
            body=body,
            author_id=rep_id,
            held_until=at,
        )
        session.commit()
        message_id = message.id
    await rig.relay.flush()
    return message_id


def _sent(rig: Rig) -> list[str]:
    with rig.sessions() as session:
        return list(
            session.scalars(
                select(SimulatorMessage.body)
                .where(SimulatorMessage.direction == "outbound")
                .order_by(SimulatorMessage.id)
            )
        )


def _message(rig: Rig, message_id: int) -> Message:
    with rig.sessions() as session:
        message = session.get_one(Message, message_id)
        session.expunge(message)
        return message


async def test_a_send_three_days_ahead_goes_at_the_second_across_restart_and_continue_as_new(
    rig: Rig, factory
) -> None:
    # A worker that keeps no workflow in memory: every task starts from the history alone, as
    # after a restart.
    rig.settings = rig.settings.model_copy(update={"worker_max_cached_workflows": 0})
    conversation, rep = _setup(factory)
    handle = rig.handle(conversation.id)
    await rig.env.client.start_workflow(
        ConversationWorkflow.run,
        # The text, the scheduled send, then the next text: continue-as-new carries the hold.
        ConversationInput(conversation_id=conversation.id, max_events_per_run=3),
        id=conversation_workflow_id(conversation.id),
        task_queue=TASK_QUEUE,
    )
    async with rig.worker():
        await rig.inbound(conversation.id, "can you call me on Friday?")
        at = (await rig.now()).replace(microsecond=0) + timedelta(days=3, hours=1, seconds=7)
        message_id = await _schedule(rig, conversation.id, rep.id, "Calling you now!", at)
        await rig.settled(conversation.id)
        first_run = (await handle.describe()).run_id
        await rig.inbound(conversation.id, "thanks", settle=False)
        await eventually(lambda: _new_run(handle, first_run))
        state = await rig.settled(conversation.id)
        assert [(hold.message_id, hold.until) for hold in state.holds] == [(message_id, at)]
    # The worker is gone for a day; another one takes over.
    await rig.env.sleep(timedelta(days=1))
    async with rig.worker():
        await rig.env.sleep(at - await rig.now() - timedelta(seconds=1))
        await rig.settled(conversation.id)
        assert _sent(rig) == [] and _message(rig, message_id).status == MessageStatus.HELD
        await rig.env.sleep(timedelta(seconds=2))
        await eventually(lambda: _sent(rig))
        await rig.settled(conversation.id)
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    assert _sent(rig) == ["Calling you now!"]
    message = _message(rig, message_id)
    assert message.status == MessageStatus.DELIVERED and message.held_until is None


async def test_a_cancelled_send_never_goes(rig: Rig, factory) -> None:
    conversation, rep = _setup(factory)
    async with rig.worker():
        await rig.inbound(conversation.id, "hello")
        at = await rig.now() + timedelta(days=3)
        message_id = await _schedule(rig, conversation.id, rep.id, "Never mind", at)
        await rig.settled(conversation.id)
        with rig.sessions() as session:
            cancel_held(
                session,
                message=session.get_one(Message, message_id),
                actor=session.get_one(User, rep.id),
            )
            session.commit()
        await rig.relay.flush()
        state = await rig.settled(conversation.id)
        assert state.holds == []
        await rig.env.sleep(timedelta(days=4))
        await rig.settled(conversation.id)
    assert _sent(rig) == []
    assert _message(rig, message_id).status == MessageStatus.CANCELLED


async def test_an_edited_send_goes_at_its_new_time_with_its_new_text(rig: Rig, factory) -> None:
    conversation, rep = _setup(factory)
    async with rig.worker():
        await rig.inbound(conversation.id, "hello")
        first = (await rig.now()).replace(microsecond=0) + timedelta(hours=2)
        message_id = await _schedule(rig, conversation.id, rep.id, "At two", first)
        await rig.settled(conversation.id)
        later = first + timedelta(hours=3)
        with rig.sessions() as session:
            scheduled.reschedule(
                session, message=session.get_one(Message, message_id), body="At five", send_at=later
            )
            session.commit()
        await rig.relay.flush()
        state = await rig.settled(conversation.id)
        assert [(hold.message_id, hold.until) for hold in state.holds] == [(message_id, later)]
        await rig.env.sleep(first - await rig.now() + timedelta(minutes=1))
        await rig.settled(conversation.id)
        assert _sent(rig) == []  # the old time passed: nothing went
        await rig.env.sleep(later - await rig.now() + timedelta(seconds=1))
        await eventually(lambda: _sent(rig))
        await rig.settled(conversation.id)
    assert _sent(rig) == ["At five"]


@pytest.mark.quiet_hours
async def test_quiet_hours_are_checked_when_it_goes(rig: Rig, factory) -> None:
    conversation, rep = _setup(factory)
    async with rig.worker():
        await rig.inbound(conversation.id, "hello")
        now = (await rig.now()).astimezone(NEW_YORK)
        night = datetime.combine(
            now.date() + timedelta(days=1), datetime.min.time(), tzinfo=NEW_YORK
        ) + timedelta(hours=23)
        message_id = await _schedule(rig, conversation.id, rep.id, "Late news", night)
        await rig.settled(conversation.id)
        await rig.env.sleep(night - await rig.now() + timedelta(minutes=1))
        await eventually(lambda: _message(rig, message_id).held_until != night)
        await rig.settled(conversation.id)
        held = _message(rig, message_id)
        assert _sent(rig) == [] and held.status == MessageStatus.HELD
        assert held.held_until.astimezone(NEW_YORK).hour == 8  # the quiet hours' end


async def _new_run(handle, first_run: str) -> bool:
    return (await handle.describe()).run_id != first_run
