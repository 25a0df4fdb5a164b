"""Fixtures for JSON API tests: the app on the test database, a fake Temporal client that records
what the outbox relay sends, an API key, and an authenticated HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from inbox.services.api_keys import create_api_key
from inbox.settings import Settings


@dataclass
class StartedWorkflow:
    workflow: str
    id: str
    task_queue: str
    signal: str
    payload: dict[str, Any]
    start_input: dict[str, Any]


@dataclass
class FakeTemporal:
    """Stands in for ``temporalio.client.Client``: records signal-with-start calls, or fails
    them all while ``down`` is set (a Temporal outage)."""

    calls: list[StartedWorkflow] = field(default_factory=list)
    down: bool = False

    async def start_workflow(
        self,
        workflow: str,
        arg: dict[str, Any],
        *,
        id: str,
        task_queue: str,
        start_signal: str,
        start_signal_args: list[dict[str, Any]],
        **_: Any,
    ) -> None:
        if self.down:
            raise RuntimeError("Temporal is unreachable (test outage)")
        self.calls.append(
            StartedWorkflow(workflow, id, task_queue, start_signal, start_signal_args[0], arg)
        )

    def signals(self, workflow_id: str) -> list[tuple[str, str]]:
        """(signal, key) pairs sent to one workflow, in order."""
        return [(c.signal, c.payload.get("key", "")) for c in self.calls if c.id == workflow_id]


@pytest.fixture
def fake_temporal() -> FakeTemporal:
    return FakeTemporal()


@pytest.fixture
def app(database_url: str, sessions: sessionmaker[Session], fake_temporal: FakeTemporal) -> FastAPI:
    # The relay's background pass is not started (no lifespan under ASGITransport): what a test
    # sees in the outbox is what the request itself left there.
    settings = Settings(database_url=database_url)
    return create_app(settings, temporal_client=fake_temporal)  # type: ignore[arg-type]


@pytest.fixture
def api_key(sessions: sessionmaker[Session]) -> str:
    """A valid plain API key."""
    with sessions() as session:
        _, plain = create_api_key(session, name="tests")
        session.commit()
    return plain


@pytest.fixture
async def anonymous_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client with no credentials."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
async def api_client(app: FastAPI, api_key: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client sending a valid bearer API key."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://test",
        headers={"Authorization": f"Bearer {api_key}"},
    ) as client:
        yield client
