"""Fixtures for automation tests: a rule folder, the time-skipping Temporal server, a worker
running the harness workflow with the real automation activities on the test database."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.automation import AutomationActivities
from inbox.rules.config import AutomationSettings
from inbox.settings import Settings
from tests.rules.harness import AutomationHarness

REPO = Path(__file__).resolve().parents[2]


def _binary(name: str) -> str:
    return shutil.which(name) or str(Path(sys.executable).parent / name)


@pytest.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=_binary("temporal-test-server")
    )
    yield env
    await env.shutdown()


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


class Harness:
    """Runs workers for the harness workflow; ``start`` gives the workflow handle."""

    def __init__(
        self, env: WorkflowEnvironment, sessions: sessionmaker[Session], settings: Settings
    ):
        self.env = env
        self.sessions = sessions
        self.settings = settings
        self.task_queue = f"automation-{uuid.uuid4().hex[:8]}"
        self.sends_per_hour = 10
        self.workflow_ids: list[str] = []

    def activities(self) -> AutomationActivities:
        return AutomationActivities(
            self.sessions,
            self.settings,
            AutomationSettings(sends_per_hour=self.sends_per_hour),
            flush_signals=False,
        )

    def worker(self, activities: list[Callable[..., Any]] | None = None) -> Worker:
        return Worker(
            self.env.client,
            task_queue=self.task_queue,
            workflows=[AutomationHarness],
            activities=activities or list(self.activities().all()),
            # Replay from history on every task: proves the automation code is deterministic.
            max_cached_workflows=0,
        )


@pytest.fixture
async def harness(
    time_env: WorkflowEnvironment, sessions: sessionmaker[Session], settings: Settings
) -> AsyncIterator[Harness]:
    harness = Harness(time_env, sessions, settings)
    yield harness
    # Harness workflows never end by themselves; stop them so their timers don't fire later.
    for workflow_id in harness.workflow_ids:
        with contextlib.suppress(Exception):  # already finished
            await time_env.client.get_workflow_handle(workflow_id).terminate("test over")


async def eventually(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Poll ``check`` (in real time, not workflow time) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
