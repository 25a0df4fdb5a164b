"""Connecting to Temporal lazily, so a web process starts (and keeps taking webhooks) while
Temporal is down; the outbox relay delivers what waited once it is back."""

from __future__ import annotations

import asyncio

from temporalio.client import Client
from temporalio.runtime import Runtime

from inbox import tracing
from inbox.settings import Settings


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """A client for the configured Temporal server and namespace (on ``runtime``: the worker's,
    which exports the SDK's metrics)."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        runtime=runtime,
        interceptors=tracing.interceptors(),
    )


class TemporalConnector:
    """Hands out one shared client, connecting on first use and again after a failure."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self._settings = settings
        self._client = client
        self._lock = asyncio.Lock()

    async def get(self) -> Client:
        """The client; raises if Temporal cannot be reached now."""
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                self._client = await asyncio.wait_for(connect(self._settings), timeout=5)
        return self._client
