"""The real store activities against the test database (SQLite or PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.store import StoreActivities
from inbox import live
from inbox.contracts import Clocks, ConversationState, LoadStateInput, ObserveInput
from inbox.models import Conversation, ConversationStatus, LiveEvent, Message
from inbox.settings import Settings
from tests.factories import Factory

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def _store(sessions: sessionmaker[Session]) -> StoreActivities:
    return StoreActivities(sessions, Settings())


async def _load(sessions: sessionmaker[Session], conversation_id: int) -> ConversationState:
    state: ConversationState = await ActivityEnvironment().run(
        _store(sessions).load_conversation_state, LoadStateInput(conversation_id)
    )
    return state


async def _record(sessions: sessionmaker[Session], conversation_id: int, clocks: Clocks) -> bool:
    """The store step of an event that changed the clocks and fired no rule; found or not."""
    result = await ActivityEnvironment().run(
        _store(sessions).observe_conversation,
        ObserveInput(conversation_id=conversation_id, now=T0, clocks=clocks),
    )
    return bool(result.found)


def _message(factory: Factory, conversation: Conversation, direction: str, minutes: int) -> Message:
    message = Message(
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
        channel_id=conversation.channel_id,
        direction=direction,
        body="hi",
        from_number="+12025550100",
        to_number="+14155550100",
        provider="simulator",
        status="received" if direction == "inbound" else "sent",
        created_at=T0 + timedelta(minutes=minutes),
    )
    factory.session.add(message)
    factory.session.commit()
    return message


async def test_load_state_reads_the_row_and_its_messages(
    sessions: sessionmaker[Session], factory: Factory
) -> None:
    user = factory.user()
    conversation = factory.conversation(
        assignee_id=user.id,
        created_at=T0,
        first_inbound_at=T0,
        first_response_at=T0 + timedelta(minutes=5),
        time_to_first_response_seconds=300,
        status=ConversationStatus.CLOSED,
        closed_at=T0 + timedelta(hours=1),
        time_to_close_seconds=3600,
    )
    messages = [
        _message(factory, conversation, "inbound", 0),
        _message(factory, conversation, "outbound", 5),
        _message(factory, conversation, "inbound", 7),
    ]

    state = await _load(sessions, conversation.id)

    assert state == ConversationState(
        conversation_id=conversation.id,
        status="closed",
        inbox_id=conversation.inbox_id,
        channel_id=conversation.channel_id,
        assignee_id=user.id,
        opened_at=T0,
        clocks=Clocks(
            first_inbound_at=T0,
            first_response_at=T0 + timedelta(minutes=5),
            closed_at=T0 + timedelta(hours=1),
            time_to_first_response_seconds=300,
            time_to_close_seconds=3600,
        ),
        last_direction="inbound",
        messages_received=2,
        messages_sent=1,
        # No clock recorded yet: every message's event is still to come.
        counted_message_ids=[m.id for m in messages],
    )
    assert state.opened_at is not None and state.opened_at.tzinfo is not None


async def test_load_state_marks_messages_newer_than_the_recorded_clocks_as_counted(
    sessions: sessionmaker[Session], factory: Factory
) -> None:
    conversation = factory.conversation(
        created_at=T0, last_inbound_at=T0, last_outbound_at=T0 + timedelta(minutes=5)
    )
    _message(factory, conversation, "inbound", 0)
    _message(factory, conversation, "outbound", 5)
    # Stored while the workflow was gone: its signal (which restarts the workflow) is to come.
    pending = _message(factory, conversation, "inbound", 9)
    state = await _load(sessions, conversation.id)
    assert (state.messages_received, state.messages_sent) == (2, 1)
    assert state.counted_message_ids == [pending.id]


async def test_automated_messages_do_not_answer_the_contact(
    sessions: sessionmaker[Session], factory: Factory
) -> None:
    conversation = factory.conversation(created_at=T0)
    _message(factory, conversation, "inbound", 0)
    auto = _message(factory, conversation, "outbound", 1)
    auto.automated = True
    factory.session.commit()
    state = await _load(sessions, conversation.id)
    assert state.last_direction == "inbound"


async def test_load_state_of_a_conversation_without_messages(
    sessions: sessionmaker[Session], factory: Factory
) -> None:
    conversation = factory.conversation()
    state = await _load(sessions, conversation.id)
    assert (state.status, state.last_direction, state.messages_received) == ("open", None, 0)
    assert state.clocks.first_inbound_at is None


async def test_record_clocks_writes_the_row_and_publishes(
    sessions: sessionmaker[Session], factory: Factory
) -> None:
    conversation = factory.conversation(created_at=T0)
    # Status and assignee are the services' to write: the store step writes only the clocks.
    clocks = Clocks(
        first_inbound_at=T0,
        first_response_at=T0 + timedelta(hours=2),
        last_inbound_at=T0 + timedelta(hours=3),
        last_outbound_at=T0 + timedelta(hours=2),
        closed_at=T0 + timedelta(hours=4),
        time_to_first_response_seconds=7200,
        time_to_close_seconds=14400,
    )
    assert await _record(sessions, conversation.id, clocks)

    with sessions() as session:
        row = session.get_one(Conversation, conversation.id)
        assert row.first_inbound_at == T0
        assert row.first_response_at == T0 + timedelta(hours=2)
        assert row.last_inbound_at == T0 + timedelta(hours=3)
        assert row.last_outbound_at == T0 + timedelta(hours=2)
        assert row.closed_at == T0 + timedelta(hours=4)
        assert row.time_to_first_response_seconds == 7200
        assert row.time_to_close_seconds == 14400
        assert row.status == "open"
        assert row.assignee_id is None
        [event] = session.scalars(select(LiveEvent)).all()
    assert event.kind == live.CONVERSATION_UPDATED
    assert (event.conversation_id, event.inbox_id) == (conversation.id, conversation.inbox_id)
    assert event.data["time_to_first_response_seconds"] == 7200


async def test_record_clocks_clears_what_a_reopen_cleared(
    sessions: sessionmaker[Session], factory: Factory
) -> None:
    conversation = factory.conversation(closed_at=T0, time_to_close_seconds=60)
    assert await _record(sessions, conversation.id, Clocks())
    with sessions() as session:
        row = session.get_one(Conversation, conversation.id)
        assert (row.closed_at, row.time_to_close_seconds) == (None, None)


async def test_missing_conversation_is_a_non_retryable_error_to_load(
    sessions: sessionmaker[Session],
) -> None:
    with pytest.raises(ApplicationError, match="conversation 987654 does not exist") as raised:
        await _load(sessions, 987654)
    assert raised.value.non_retryable


async def test_a_missing_conversation_is_reported_by_the_store_step_and_nothing_written(
    sessions: sessionmaker[Session],
) -> None:
    # Not an error that could fail the workflow: it is told, and skips the event's rules.
    assert not await _record(sessions, 987654, Clocks(first_inbound_at=T0))
    with sessions() as session:
        assert session.scalars(select(LiveEvent)).all() == []  # nothing half-written
