"""Readiness: ``GET /readyz`` says whether this web process can serve (its database and
Temporal answer). ``/healthz`` (in the app factory) stays a liveness check that touches
nothing, so an orchestrator restarts a process only when the process itself is broken, and
takes it out of the load balancer while what it depends on is down.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest

from api.deps import StateDep
from api.state import AppState

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

# Each check's bound: an orchestrator's probe times out after a few seconds, and a check that
# hangs (a database or Temporal behind a dropped route) must answer "not ready", not nothing.
CHECK_TIMEOUT_SECONDS = 2.0


def _select_one(state: AppState) -> None:
    with state.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


async def _database(state: AppState) -> None:
    await run_in_threadpool(_select_one, state)


async def _temporal(state: AppState) -> None:
    client = await state.temporal.get()
    # A cheap call that also proves the namespace exists; no retries (the probe retries).
    await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=state.settings.temporal_namespace),
        retry=False,
        timeout=timedelta(seconds=CHECK_TIMEOUT_SECONDS),
    )


async def _run(name: str, check: Callable[[], Awaitable[None]]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
        result: dict[str, Any] = {"ok": True}
    except TimeoutError:
        log.warning("readiness: %s did not answer within %ss", name, CHECK_TIMEOUT_SECONDS)
        result = {"ok": False, "error": "timeout"}
    except Exception as exc:  # any failure means "not ready"; the details go to the log only
        log.warning("readiness: %s failed: %s: %s", name, exc.__class__.__name__, exc)
        result = {"ok": False, "error": "unavailable"}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


@router.get(
    "/readyz",
    summary="Readiness: the database and Temporal answer",
    responses={503: {"description": "A dependency is down; the body says which."}},
)
async def readyz(state: StateDep) -> JSONResponse:
    """200 when the database answers ``SELECT 1`` and Temporal describes our namespace, each
    within 2 s; else 503. The body has each check's outcome and time (never error details)."""
    database, temporal = await asyncio.gather(
        _run("database", lambda: _database(state)), _run("temporal", lambda: _temporal(state))
    )
    checks = {"database": database, "temporal": temporal}
    ready = all(check["ok"] for check in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
        headers={"Cache-Control": "no-store"},
    )
