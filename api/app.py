"""The application factory: webhooks, JSON API, web inbox and simulator in one ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from temporalio.client import Client

from api.state import AppState
from inbox.db import engine_for, make_session_factory
from inbox.settings import Settings, get_settings
from inbox.temporal import TemporalConnector


def create_app(settings: Settings | None = None, *, temporal_client: Client | None = None) -> FastAPI:
    """Build the app. ``temporal_client`` lets tests hand in a client they already hold."""
    settings = settings or get_settings()
    engine = engine_for(settings.database_url)
    state = AppState(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        temporal=TemporalConnector(settings, temporal_client),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield

    app = FastAPI(
        title="Durable Inbox",
        summary="A shared SMS inbox whose conversations are durable Temporal workflows.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.inbox = state

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
