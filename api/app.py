"""The application factory: webhooks, JSON API, web inbox and simulator in one ASGI app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from temporalio.client import Client

from api.docs import mount_docs
from api.errors import install_error_handlers
from api.metrics import RequestMetrics
from api.metrics import router as metrics_router
from api.routes import consent as consent_api
from api.routes import contacts as contacts_api
from api.routes import conversations as conversations_api
from api.routes import health as health_routes
from api.routes import messages as messages_api
from api.routes import notifications as notifications_api
from api.routes import reports as reports_api
from api.routes import rules as rules_api
from api.routes import simulator as simulator_routes
from api.routes import webhooks as webhooks_routes
from api.security_headers import SecurityHeaders
from api.state import AppState
from inbox import metrics, tracing
from inbox.db import engine_for, make_session_factory
from inbox.relay import Relay
from inbox.settings import Settings, get_settings
from inbox.temporal import TemporalConnector
from web import mount_web


def create_app(
    settings: Settings | None = None, *, temporal_client: Client | None = None
) -> FastAPI:
    """Build the app. ``temporal_client`` lets tests hand in a client they already hold."""
    settings = settings or get_settings()
    tracing.configure("inbox-web")
    engine = engine_for(settings.database_url)
    sessions = make_session_factory(engine)
    temporal = TemporalConnector(settings, temporal_client)
    state = AppState(
        settings=settings,
        engine=engine,
        sessions=sessions,
        temporal=temporal,
        relay=Relay(sessions, temporal),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        relay_task = asyncio.create_task(state.relay.run_forever(settings.relay_interval_seconds))
        try:
            yield
        finally:
            relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay_task
            # Shutdown (SIGTERM): uvicorn stopped accepting and finished the requests; hand
            # Temporal whatever still waits before this process goes.
            await state.relay.drain()
            metrics.process_exiting()
            tracing.flush()

    app = FastAPI(
        title="Durable Inbox",
        summary="A shared SMS inbox whose conversations are durable Temporal workflows.",
        version="0.1.0",
        lifespan=lifespan,
        # Served by api/docs.py instead: behind sign-in in production, with their own CSP.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.inbox = state

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(health_routes.router)
    app.include_router(metrics_router)
    app.include_router(conversations_api.router)
    app.include_router(contacts_api.router)
    app.include_router(messages_api.router)
    app.include_router(consent_api.router)
    app.include_router(notifications_api.router)
    app.include_router(rules_api.router)
    app.include_router(reports_api.router)
    app.include_router(webhooks_routes.router)
    if settings.sms_provider == "simulator":
        app.include_router(simulator_routes.router)
    mount_web(app, state)
    mount_docs(app)
    install_error_handlers(app)
    app.add_middleware(SecurityHeaders, hsts=settings.environment == "production")
    app.add_middleware(RequestMetrics)
    tracing.instrument(app)

    return app
