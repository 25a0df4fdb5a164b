# mypy: disable-error-code="type-arg,union-attr,no-untyped-call,no-untyped-def"
"""Snooze in the real ``ConversationWorkflow`` on the time-skipping server, run by the real
worker: the snooze's durable timer wakes the conversation at its time (unread for its
assignee, out of the Snoozed view), and the contact's reply ends it early."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from inbox.contracts import (
    SNOOZE_UNTIL_REPLY,
    TASK_QUEUE,
    ConversationInput,
    conversation_workflow_id,
)
from inbox.models import ContactEvent, Conversation, ConversationRead, EventKind, User
from inbox.services import snooze
from inbox.services.inbound import receive_inbound
from tests.polling import eventually
from tests.rules.conftest import Rig
from web.queries import View, view_clause
from workflows.conversation import ConversationWorkflow


def _setup(factory):
    rep = factory.user(name="Rex Rep")
    inbox = factory.inbox(name="Support", timezone="America/New_York", members=[rep])
    channel = factory.channel(default_inbox=inbox)
    contact = factory.contact(name="Ada Lovelace")
    return factory.conversation(channel=channel, contact=contact, assignee_id=rep.id), rep


async def _snooze(rig: Rig, conversation_id: int, rep_id: int, until) -> None:
    with rig.sessions() as session:
        conversation = session.get_one(Conversation, conversation_id)
        snooze.snooze(
            session, conversation=conversation, until=until, actor=session.get_one(User, rep_id)
        )
        session.commit()
    await rig.relay.flush()


def _row(rig: Rig, conversation_id: int) -> Conversation:
    with rig.sessions() as session:
        row = session.get_one(Conversation, conversation_id)
        session.expunge(row)
        return row


def _unread_mark(rig: Rig, user_id: int, conversation_id: int) -> bool:
    with rig.sessions() as session:
        read = session.get(ConversationRead, (user_id, conversation_id))
        return read is not None and read.marked_unread


def _events(rig: Rig, conversation_id: int) -> list[str]:
    with rig.sessions() as session:
        return list(
            session.scalars(
                select(ContactEvent.summary)
                .where(
                    ContactEvent.conversation_id == conversation_id,
                    ContactEvent.kind.in_([EventKind.SNOOZED, EventKind.UNSNOOZED]),
                )
                .order_by(ContactEvent.id)
            )
        )


def _in_view(rig: Rig, view: View, user_id: int) -> list[int]:
    with rig.sessions() as session:
        user = session.get_one(User, user_id)
        return list(session.scalars(select(Conversation.id).where(view_clause(view, user))))


async def test_a_snooze_wakes_at_its_time_unread_for_the_assignee(rig: Rig, factory) -> None:
    conversation, rep = _setup(factory)
    async with rig.worker():
        await rig.inbound(conversation.id, "hello?")
        until = (await rig.now()).replace(microsecond=0) + timedelta(days=2, hours=3)
        await _snooze(rig, conversation.id, rep.id, until)
        state = await rig.settled(conversation.id)
        assert state.snoozed_until == until
        assert _in_view(rig, View.SNOOZED, rep.id) == [conversation.id]
        assert _in_view(rig, View.ALL_OPEN, rep.id) == []
        assert _in_view(rig, View.MY_OPEN, rep.id) == []
        # A minute before: still snoozed.
        await rig.env.sleep(until - await rig.now() - timedelta(minutes=1))
        await rig.settled(conversation.id)
        assert _row(rig, conversation.id).snoozed_until == until
        assert not _unread_mark(rig, rep.id, conversation.id)
        await rig.env.sleep(timedelta(minutes=2))
        await eventually(lambda: _row(rig, conversation.id).snoozed_until is None)
        state = await rig.settled(conversation.id)
    assert state.snoozed_until is None
    assert _unread_mark(rig, rep.id, conversation.id)
    assert _in_view(rig, View.MY_UNREAD, rep.id) == [conversation.id]
    assert _in_view(rig, View.SNOOZED, rep.id) == []
    summaries = _events(rig, conversation.id)
    assert summaries[0].startswith("Snoozed until ") and summaries[0].endswith("by Rex Rep")
    assert summaries[1:] == ["Back from snooze"]


async def test_the_contacts_reply_ends_a_snooze_early(rig: Rig, factory) -> None:
    conversation, rep = _setup(factory)
    async with rig.worker():
        await rig.inbound(conversation.id, "hello?")
        until = await rig.now() + timedelta(days=1)
        await _snooze(rig, conversation.id, rep.id, until)
        await rig.settled(conversation.id)
        with rig.sessions() as session:
            receive_inbound(
                session,
                provider="simulator",
                provider_message_id="SMreply",
                from_number=conversation.contact_number,
                to_number=conversation.channel.number,
                body="any news?",
                media=[],
            )
            session.commit()
        await rig.relay.flush()
        assert _row(rig, conversation.id).snoozed_until is None
        state = await rig.settled(conversation.id)
        assert state.snoozed_until is None
        # The timer is gone with it: a day later nothing wakes (no second "Back from snooze").
        await rig.env.sleep(timedelta(days=1, minutes=1))
        await rig.settled(conversation.id)
    assert _events(rig, conversation.id)[1:] == ["Back from snooze: the contact replied"]
    assert _in_view(rig, View.ALL_OPEN, rep.id) == [conversation.id]


async def test_until_the_contact_replies_arms_no_timer(rig: Rig, factory) -> None:
    conversation, rep = _setup(factory)
    async with rig.worker():
        await rig.inbound(conversation.id, "hello?")
        await _snooze(rig, conversation.id, rep.id, SNOOZE_UNTIL_REPLY)
        state = await rig.settled(conversation.id)
        assert state.snoozed_until == SNOOZE_UNTIL_REPLY
        await rig.env.sleep(timedelta(days=30))
        await rig.settled(conversation.id)
        assert _row(rig, conversation.id).snoozed_until == SNOOZE_UNTIL_REPLY
        await rig.inbound(conversation.id, "me again")
        state = await rig.settled(conversation.id)
    assert state.snoozed_until is None


async def test_a_workflow_started_from_the_row_keeps_the_snooze(rig: Rig, factory) -> None:
    # As after a workflow was reset or terminated: the next run loads the stored row.
    conversation, rep = _setup(factory)
    until = (await rig.now()).replace(microsecond=0) + timedelta(hours=5)
    with rig.sessions() as session:
        session.get_one(Conversation, conversation.id).snoozed_until = until
        session.commit()
    await rig.env.client.start_workflow(
        ConversationWorkflow.run,
        ConversationInput(conversation_id=conversation.id),
        id=conversation_workflow_id(conversation.id),
        task_queue=TASK_QUEUE,
    )
    async with rig.worker():
        state = await rig.settled(conversation.id)
        assert state.snoozed_until == until
        await rig.env.sleep(timedelta(hours=5, minutes=1))
        await eventually(lambda: _row(rig, conversation.id).snoozed_until is None)
    assert _unread_mark(rig, rep.id, conversation.id)
