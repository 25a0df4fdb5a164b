"""The real worker (workflows + store and sms activities) on the test database and the time-skipping
server: an inbound message, then an agent's reply, end to end through the outbox relay."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from inbox.cli.worker import SEND_THREADS, build_worker, run_worker
from inbox.contracts import (
    SA_STATUS,
    SIGNAL_MESSAGE_RECEIVED,
    ConversationEvent,
    ConversationState,
    conversation_workflow_id,
)
from inbox.models import Conversation, Message, PendingSignal, SimulatorMessage, utcnow
from inbox.providers import ProviderRejected, SimulatorProvider
from inbox.relay import Relay, enqueue_conversation_signal
from inbox.services.outbound import queue_message
from inbox.settings import Settings
from inbox.temporal import TemporalConnector
from tests.factories import Factory
from tests.polling import eventually


def _inbound(session: Session, conversation: Conversation, minutes_ago: int) -> Message:
    """What the inbound path stores and signals (issue 2 step 4), minus the webhook."""
    at = utcnow() - timedelta(minutes=minutes_ago)
    message = Message(
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
        channel_id=conversation.channel_id,
        direction="inbound",
        body="Hi, is the blue one in stock?",
        from_number=conversation.contact_number,
        to_number=conversation.channel.number,
        provider="simulator",
        provider_message_id=f"SMin{minutes_ago}",
        status="received",
        created_at=at,
    )
    session.add(message)
    session.flush()
    enqueue_conversation_signal(
        session,
        conversation.id,
        SIGNAL_MESSAGE_RECEIVED,
        ConversationEvent(key=f"msg-{message.id}", at=at, message_id=message.id),
    )
    session.commit()
    return message


async def test_inbound_then_reply_records_clocks_and_delivers(
    env: WorkflowEnvironment,
    sessions: sessionmaker[Session],
    factory: Factory,
    database_url: str,
    tmp_path: Path,
) -> None:
    # No rules: these tests are about clocks and delivery (tests/rules covers automation).
    settings = Settings(database_url=database_url, rules_dir=tmp_path)
    provider = SimulatorProvider(sessions)
    relay = Relay(sessions, TemporalConnector(settings, env.client))
    conversation = factory.conversation()
    with ThreadPoolExecutor(SEND_THREADS) as executor:
        worker = build_worker(
            env.client,
            sessions=sessions,
            settings=settings,
            provider=provider,
            activity_executor=executor,
        )
        async with worker:
            with sessions() as session:
                row = session.get_one(Conversation, conversation.id)
                _inbound(session, row, minutes_ago=120)
            assert await relay.flush() == 1
            handle = env.client.get_workflow_handle(conversation_workflow_id(conversation.id))

            with sessions() as session:
                row = session.get_one(Conversation, conversation.id)
                reply = queue_message(session, conversation=row, body="Yes, it is!", author_id=None)
                session.commit()
            assert await relay.flush() == 1

            def delivered() -> bool:
                with sessions() as session:
                    message = session.get_one(Message, reply.id)
                    row = session.get_one(Conversation, conversation.id)
                    return (
                        message.status == "delivered"
                        and row.time_to_first_response_seconds is not None
                    )

            await eventually(delivered)
            state = await handle.query("state", result_type=ConversationState)
            attrs = (await handle.describe()).typed_search_attributes

    with sessions() as session:
        row = session.get_one(Conversation, conversation.id)
        # Two hours (and the few milliseconds the test took).
        assert row.time_to_first_response_seconds is not None
        assert 120 * 60 <= row.time_to_first_response_seconds < 120 * 60 + 30
        assert row.first_inbound_at is not None and row.last_outbound_at is not None
        outbox = session.scalars(select(SimulatorMessage)).all()
        assert [m.body for m in outbox] == ["Yes, it is!"]
    assert state.clocks.time_to_first_response_seconds == row.time_to_first_response_seconds
    assert attrs.get(SA_STATUS) == "open"


async def test_rejected_reply_is_marked_failed_with_the_provider_reason(
    env: WorkflowEnvironment,
    sessions: sessionmaker[Session],
    factory: Factory,
    database_url: str,
    tmp_path: Path,
) -> None:
    # No rules: these tests are about clocks and delivery (tests/rules covers automation).
    settings = Settings(database_url=database_url, rules_dir=tmp_path)
    provider = SimulatorProvider(sessions)
    provider.rejection = ProviderRejected("21610", "Attempt to send to unsubscribed recipient")
    relay = Relay(sessions, TemporalConnector(settings, env.client))
    conversation = factory.conversation()
    with ThreadPoolExecutor(SEND_THREADS) as executor:
        async with build_worker(
            env.client,
            sessions=sessions,
            settings=settings,
            provider=provider,
            activity_executor=executor,
        ):
            with sessions() as session:
                row = session.get_one(Conversation, conversation.id)
                reply = queue_message(session, conversation=row, body="Hello")
                session.commit()
            assert await relay.flush() == 1

            def failed() -> bool:
                with sessions() as session:
                    return session.get_one(Message, reply.id).status == "failed"

            await eventually(failed)
    with sessions() as session:
        message = session.get_one(Message, reply.id)
        assert message.error_message == "Attempt to send to unsubscribed recipient"
        assert message.error_code == "21610"
        assert session.scalars(select(SimulatorMessage)).all() == []


async def test_run_worker_relays_stored_signals_and_stops_when_cancelled(
    env: WorkflowEnvironment,
    sessions: sessionmaker[Session],
    factory: Factory,
    database_url: str,
    tmp_path: Path,
) -> None:
    target = env.client.service_client.config.target_host
    settings = Settings(
        database_url=database_url,
        temporal_address=target,
        relay_interval_seconds=0.1,
        rules_dir=tmp_path,
    )
    conversation = factory.conversation()
    with sessions() as session:
        # Stored while "Temporal was down": only the worker's relay delivers it.
        _inbound(session, session.get_one(Conversation, conversation.id), minutes_ago=5)
    task = asyncio.create_task(run_worker(settings))

    def recorded() -> bool:
        with sessions() as session:
            return session.get_one(Conversation, conversation.id).first_inbound_at is not None

    try:
        await eventually(recorded)
        with sessions() as session:
            assert session.scalars(select(PendingSignal)).all() == []
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=15)
