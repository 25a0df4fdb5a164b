"""Hot reload as ``inbox dev`` runs it: the Temporal dev server, the real worker
(``inbox.cli.worker.build_worker``) and the test database. Editing a rule file changes what an
already-open conversation's running workflow does next, with no restart of anything."""

from __future__ import annotations

import shutil
import sys
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from inbox.cli.dev import SQLITE_PRAGMA_ARGS
from inbox.cli.worker import SEND_THREADS, build_worker
from inbox.contracts import (
    SA_ASSIGNEE,
    SA_INBOX,
    SA_LAST_INBOUND,
    SA_STATUS,
    conversation_workflow_id,
)
from inbox.models import Conversation, RuleRun
from inbox.providers import SimulatorProvider
from inbox.relay import Relay
from inbox.services.inbound import receive_inbound
from inbox.settings import Settings
from inbox.temporal import TemporalConnector
from tests.factories import Factory
from tests.polling import eventually

pytestmark = pytest.mark.devserver

RULE = """
- name: tag-each-message
  trigger: message_received
  then:
    - add_tag: {tag}
"""


def _binary(name: str) -> str:
    return shutil.which(name) or str(Path(sys.executable).parent / name)


@pytest.fixture
async def dev_env(tmp_path: Path) -> AsyncIterator[WorkflowEnvironment]:
    """A dev server started as ``inbox dev`` starts it (SQLite file, WAL, the attributes)."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=_binary("temporal"),
        dev_server_database_filename=str(tmp_path / "temporal.db"),
        dev_server_extra_args=list(SQLITE_PRAGMA_ARGS),
        search_attributes=[SA_STATUS, SA_INBOX, SA_ASSIGNEE, SA_LAST_INBOUND],
    )
    async with env:
        yield env


async def test_editing_a_rule_changes_an_open_conversation_without_restart(
    dev_env: WorkflowEnvironment,
    sessions: sessionmaker[Session],
    factory: Factory,
    database_url: str,
    tmp_path: Path,
) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    rule_file = rules_dir / "tags.yaml"
    rule_file.write_text(RULE.format(tag="first-version"))
    settings = Settings(database_url=database_url, rules_dir=rules_dir)
    channel = factory.channel()
    relay = Relay(sessions, TemporalConnector(settings, dev_env.client))

    async def inbound(n: int) -> int:
        """A webhook's inbound path: store, commit, signal the conversation's workflow."""
        with sessions() as session:
            result = receive_inbound(
                session,
                provider="simulator",
                provider_message_id=f"SMhot{n}",
                from_number="+12025550188",
                to_number=str(channel.number),
                body=f"message {n}",
                media=[],
            )
            session.commit()
            conversation_id = result.conversation.id
        await relay.flush(conversation_workflow_id(conversation_id))
        return conversation_id

    def tags(conversation_id: int) -> list[str]:
        with sessions() as session:
            return list(session.get_one(Conversation, conversation_id).tags or [])

    with ThreadPoolExecutor(SEND_THREADS) as executor:
        worker = build_worker(
            dev_env.client,
            sessions=sessions,
            settings=settings,
            provider=SimulatorProvider(sessions),
            activity_executor=executor,
        )
        async with worker:
            conversation_id = await inbound(1)
            await eventually(lambda: tags(conversation_id) == ["first-version"], timeout=30)
            handle = dev_env.client.get_workflow_handle(conversation_workflow_id(conversation_id))
            run_id = (await handle.describe()).run_id

            # Saved while the worker and the conversation's workflow keep running.
            rule_file.write_text(RULE.format(tag="second-version"))
            assert await inbound(2) == conversation_id
            await eventually(lambda: "second-version" in tags(conversation_id), timeout=30)

            described = await handle.describe()
            assert described.run_id == run_id  # the same workflow run, never restarted
            assert described.status == WorkflowExecutionStatus.RUNNING
    assert tags(conversation_id) == ["first-version", "second-version"]
    with sessions() as session:
        versions = list(session.scalars(select(RuleRun.version).order_by(RuleRun.id)))
    assert len(versions) == 2 and versions[0] != versions[1]
