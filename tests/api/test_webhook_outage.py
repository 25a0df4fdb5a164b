"""A Temporal outage at the webhook: the answer stays fast (Twilio gives up after 15 s) and the
message is stored, its signal waiting in the outbox until the relay delivers it.

httpx's ASGI transport returns a response only when the app's whole cycle is done, background
work included: the time measured is what a client on a keep-alive connection waits before its
next request is read, the worst case.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from api.app import create_app
from inbox.cli.simulate import signed_webhook, webhook_params
from inbox.contracts import SIGNAL_MESSAGE_RECEIVED
from inbox.models import Message, PendingSignal
from inbox.relay import SEND_TIMEOUT_SECONDS
from inbox.settings import Settings
from tests.temporal_servers import black_hole

# The design answers in about SEND_TIMEOUT_SECONDS (2 s); the bound leaves room for a loaded
# machine and stays well inside Twilio's 15 s.
ANSWER_WITHIN = 5.0


class HangingTemporal:
    """A client connected before the outage: every call hangs (the SDK would retry for ten
    seconds, a partition longer) until ``recover()``; then it records signal-with-starts."""

    def __init__(self) -> None:
        self._up = asyncio.Event()
        self.calls: list[dict[str, Any]] = []

    def recover(self) -> None:
        self._up.set()

    async def start_workflow(self, workflow: str, arg: Any, **kwargs: Any) -> None:
        await self._up.wait()
        self.calls.append({"workflow": workflow, "arg": arg, **kwargs})


async def _post_inbound(app: FastAPI, settings: Settings, to_number: str) -> tuple[int, float]:
    params = webhook_params(
        settings=settings, from_number="+12025550143", to_number=to_number, body="Are you open?"
    )
    _, headers = signed_webhook(settings, params)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        started = time.monotonic()
        response = await client.post("/webhooks/twilio/sms", data=params, headers=headers)
        return response.status_code, time.monotonic() - started


@pytest.fixture
async def hanging() -> AsyncIterator[HangingTemporal]:
    temporal = HangingTemporal()
    yield temporal
    temporal.recover()


async def test_a_hanging_temporal_costs_the_webhook_at_most_the_signal_timeout(
    database_url: str, factory, sessions, hanging: HangingTemporal
) -> None:
    settings = Settings(database_url=database_url)
    app = create_app(settings, temporal_client=hanging)  # type: ignore[arg-type]
    channel = factory.channel()

    status, elapsed = await _post_inbound(app, settings, channel.number)

    assert status == 200
    assert SEND_TIMEOUT_SECONDS <= elapsed < ANSWER_WITHIN
    with sessions() as session:
        message = session.scalars(select(Message)).one()
        pending = session.scalars(select(PendingSignal)).one()
        assert pending.signal == SIGNAL_MESSAGE_RECEIVED
        assert pending.payload["key"] == f"msg-{message.id}"

    # Temporal is back: the relay's next pass delivers the waiting signal, once.
    hanging.recover()
    assert await app.state.inbox.relay.flush() == 1
    assert [call["id"] for call in hanging.calls] == [pending.workflow_id]
    assert hanging.calls[0]["start_signal_args"][0]["key"] == f"msg-{message.id}"
    with sessions() as session:
        assert session.scalars(select(PendingSignal)).all() == []


async def test_an_unanswering_temporal_address_keeps_the_webhook_fast(
    database_url: str, factory, sessions
) -> None:
    """Not connected yet, and the address accepts connections but never answers (the
    connect itself hangs): stored, answered, the signal left in the outbox."""
    channel = factory.channel()
    with black_hole() as address:
        settings = Settings(database_url=database_url, temporal_address=address)
        status, elapsed = await _post_inbound(create_app(settings), settings, channel.number)
    assert status == 200
    assert elapsed < ANSWER_WITHIN
    with sessions() as session:
        assert session.scalars(select(Message)).one().body == "Are you open?"
        assert session.scalars(select(PendingSignal)).one().signal == SIGNAL_MESSAGE_RECEIVED


async def test_stopping_the_web_process_flushes_what_waited(
    database_url: str, factory, sessions, hanging: HangingTemporal
) -> None:
    """SIGTERM's last step (the app's lifespan shutdown) hands the outbox to Temporal."""
    # No background pass during the test: only the shutdown's drain can deliver.
    settings = Settings(database_url=database_url, relay_interval_seconds=3600)
    app = create_app(settings, temporal_client=hanging)  # type: ignore[arg-type]
    channel = factory.channel()
    async with app.router.lifespan_context(app):
        status, _ = await _post_inbound(app, settings, channel.number)
        assert status == 200
        with sessions() as session:
            assert len(session.scalars(select(PendingSignal)).all()) == 1
        hanging.recover()
    assert len(hanging.calls) == 1
    with sessions() as session:
        assert session.scalars(select(PendingSignal)).all() == []
