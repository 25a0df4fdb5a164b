"""Fixtures for automation tests: a rule folder, a fresh time-skipping Temporal server per test,
and :class:`Rig`, which runs the real ``ConversationWorkflow`` in the real worker
(``inbox.cli.worker.build_worker``: store, SMS and automation activities on the test database,
the simulator as the provider) and feeds it events the way the inbound path and the composer
do.

Events are stored with the test server's clock (which jumps forward as ``env.sleep`` skips
time), not the wall clock, so a message "sent three days later" says so in its row and signal.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.automation import AutomationActivities
from inbox.cli.worker import DB_THREADS, SEND_THREADS, build_worker
from inbox.contracts import (
    SIGNAL_MESSAGE_RECEIVED,
    SIGNAL_MESSAGE_SENT,
    ConversationEvent,
    ConversationState,
    conversation_workflow_id,
)
from inbox.models import Conversation, Message, PendingSignal
from inbox.providers import SimulatorProvider
from inbox.relay import Relay, enqueue_conversation_signal
from inbox.settings import Settings
from inbox.temporal import TemporalConnector
from tests.polling import eventually
from tests.temporal_servers import time_skipping
from tests.workflows.fakes import register_search_attributes

REPO = Path(__file__).resolve().parents[2]
QUERY_TIMEOUT = timedelta(seconds=2)


def _binary(name: str) -> str:
    return shutil.which(name) or str(Path(sys.executable).parent / name)


@pytest.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A fresh time-skipping server per test (see tests/workflows/conftest.py for why), with the
    conversation search attributes registered (the server refuses unknown ones)."""
    environment = await time_skipping(test_server_existing_path=_binary("temporal-test-server"))
    async with environment:
        await register_search_attributes(environment.client)
        yield environment


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """An empty rule folder of the test's own."""
    folder = tmp_path / "rules"
    folder.mkdir()
    return folder


@pytest.fixture
def shipped_rules(rules_dir: Path) -> Path:
    """A copy of the repository's shipped rules."""
    for path in (REPO / "rules").glob("*.yaml"):
        shutil.copy(path, rules_dir / path.name)
    return rules_dir


@pytest.fixture
def settings(database_url: str, rules_dir: Path) -> Settings:
    return Settings(database_url=database_url, rules_dir=rules_dir)


class Rig:
    """The real worker on a time-skipping server, and helpers that store and signal events."""

    def __init__(
        self,
        env: WorkflowEnvironment,
        sessions: sessionmaker[Session],
        settings: Settings,
        executor: ThreadPoolExecutor,
        db_executor: ThreadPoolExecutor,
    ) -> None:
        self.env = env
        self.sessions = sessions
        self.settings = settings
        self.executor = executor
        self.db_executor = db_executor
        self.sends_per_hour = 10
        self.relay = Relay(sessions, TemporalConnector(settings, env.client))
        self.provider = SimulatorProvider(sessions)

    def automation(
        self, automation_class: type[AutomationActivities] = AutomationActivities
    ) -> Any:
        """The automation activities as the worker builds them, with this rig's loop cap."""
        return automation_class(
            self.sessions,
            self._settings(),
            executor=self.db_executor,
            calls_executor=self.executor,
        )

    def _settings(self) -> Settings:
        return self.settings.model_copy(update={"automation_sends_per_hour": self.sends_per_hour})

    def worker(self, automation: AutomationActivities | None = None) -> Worker:
        """The worker ``inbox worker`` runs (``automation`` replaces its automation activities)."""
        return build_worker(
            self.env.client,
            sessions=self.sessions,
            settings=self._settings(),
            provider=self.provider,
            db_executor=self.db_executor,
            activity_executor=self.executor,
            automation=automation or self.automation(),
            sandboxed=True,  # the full sandbox: it catches a non-deterministic call
        )

    def handle(self, conversation_id: int) -> WorkflowHandle[Any, Any]:
        return self.env.client.get_workflow_handle(conversation_workflow_id(conversation_id))

    async def inbound(
        self, conversation_id: int, body: str, *, settle: bool = True, **event_fields: Any
    ) -> Message:
        """A message from the contact, stored and signalled as the inbound path does; returns
        once the workflow has handled it (rules evaluated, actions done) unless ``settle`` is
        False (a test that expects continue-as-new waits for the new run instead: the test
        server mishandles a query that reaches a run as it continues as new)."""
        return await self._message(
            conversation_id, SIGNAL_MESSAGE_RECEIVED, body, None, settle, **event_fields
        )

    async def reply(self, conversation_id: int, body: str, author_id: int | None) -> Message:
        """An agent's reply, stored (queued) and signalled as the composer does."""
        return await self._message(conversation_id, SIGNAL_MESSAGE_SENT, body, author_id, True)

    async def _message(
        self,
        conversation_id: int,
        signal: str,
        body: str,
        author_id: int | None,
        settle: bool,
        **event_fields: Any,
    ) -> Message:
        at = await self.env.get_current_time()
        with self.sessions() as session:
            conversation = session.get_one(Conversation, conversation_id)
            inbound = signal == SIGNAL_MESSAGE_RECEIVED
            numbers = (conversation.contact_number, conversation.channel.number)
            message = Message(
                conversation_id=conversation.id,
                contact_id=conversation.contact_id,
                channel_id=conversation.channel_id,
                direction="inbound" if inbound else "outbound",
                body=body,
                from_number=numbers[0] if inbound else numbers[1],
                to_number=numbers[1] if inbound else numbers[0],
                provider="simulator",
                provider_message_id=f"SMin{uuid.uuid4().hex}" if inbound else None,
                status="received" if inbound else "queued",
                author_id=author_id,
                created_at=at,
            )
            session.add(message)
            session.flush()
            key = f"msg-{message.id}"
            event = ConversationEvent(
                key=key,
                at=at,
                message_id=message.id,
                author_id=author_id,
                body=body,
                **event_fields,
            )
            enqueue_conversation_signal(session, conversation.id, signal, event)
            session.commit()
            session.expunge(message)
        await self.relay.flush(conversation_workflow_id(conversation_id))
        if settle:
            await self.settled(conversation_id, key)
        return message

    async def settled(self, conversation_id: int, key: str | None = None) -> ConversationState:
        """Wait until the workflow has handled ``key`` (if given) and sits idle."""
        handle = self.handle(conversation_id)

        async def ready() -> ConversationState | None:
            try:
                state: ConversationState = await handle.query(
                    "state", result_type=ConversationState, rpc_timeout=QUERY_TIMEOUT
                )
                idle = await handle.query("idle", result_type=bool, rpc_timeout=QUERY_TIMEOUT)
            except Exception:  # the first workflow task has not run yet
                return None
            handled = key is None or key in state.seen_keys
            return state if idle and handled and not self._signals_pending(handle.id) else None

        # Twice in a row: a signal an action sent may be on its way to the next workflow task.
        first: ConversationState = await eventually(ready)
        await asyncio.sleep(0.05)
        again: ConversationState = await eventually(ready)
        return again or first

    def _signals_pending(self, workflow_id: str) -> bool:
        """Whether signals an action stored for the workflow are still to be relayed."""
        with self.sessions() as session:
            query = select(PendingSignal.id).where(PendingSignal.workflow_id == workflow_id)
            return session.scalar(query.limit(1)) is not None

    async def state(self, conversation_id: int) -> ConversationState:
        state: ConversationState = await self.handle(conversation_id).query(
            "state", result_type=ConversationState
        )
        return state

    async def now(self) -> datetime:
        return await self.env.get_current_time()


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(SEND_THREADS) as pool:
        yield pool


@pytest.fixture
def db_executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(DB_THREADS) as pool:
        yield pool


@pytest.fixture
async def rig(
    time_env: WorkflowEnvironment,
    sessions: sessionmaker[Session],
    settings: Settings,
    executor: ThreadPoolExecutor,
    db_executor: ThreadPoolExecutor,
) -> AsyncIterator[Rig]:
    yield Rig(time_env, sessions, settings, executor, db_executor)
