"""``GET /readyz``: 200 while the database and Temporal answer, 503 (saying which) while one
does not, within its bound even when a dependency hangs; ``/healthz`` stays up regardless."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from inbox.settings import Settings
from tests.cli.conftest import free_port
from tests.temporal_servers import black_hole, dev_server


@pytest.fixture(scope="module")
def temporal_address() -> Iterator[str]:
    with dev_server() as address:
        yield address


def _get(settings: Settings, path: str = "/readyz") -> tuple[int, dict[str, Any], float]:
    with TestClient(create_app(settings)) as client:
        started = time.monotonic()
        response = client.get(path)
        return response.status_code, response.json(), time.monotonic() - started


@pytest.mark.devserver
def test_ready_when_database_and_temporal_answer(database_url: str, temporal_address: str) -> None:
    status, body, _ = _get(Settings(database_url=database_url, temporal_address=temporal_address))
    assert status == 200
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["temporal"]["ok"] is True


@pytest.mark.devserver
def test_an_unknown_namespace_is_not_ready(database_url: str, temporal_address: str) -> None:
    settings = Settings(
        database_url=database_url, temporal_address=temporal_address, temporal_namespace="nope"
    )
    status, body, _ = _get(settings)
    assert status == 503
    temporal = body["checks"]["temporal"]
    assert temporal["ok"] is False and temporal["error"] == "unavailable"


def test_refused_temporal_is_503_and_liveness_stays_up(database_url: str) -> None:
    settings = Settings(database_url=database_url, temporal_address=f"127.0.0.1:{free_port()}")
    status, body, _ = _get(settings)
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["temporal"]["ok"] is False
    assert _get(settings, "/healthz")[0] == 200


def test_hanging_temporal_answers_within_the_bound(database_url: str) -> None:
    with black_hole() as address:
        status, body, elapsed = _get(Settings(database_url=database_url, temporal_address=address))
    assert status == 503
    assert body["checks"]["temporal"]["error"] == "timeout"
    assert body["checks"]["database"]["ok"] is True
    assert elapsed < 4


def test_unreachable_database_is_503() -> None:
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/inbox"
    status, body, _ = _get(Settings(database_url=url, temporal_address=f"127.0.0.1:{free_port()}"))
    assert status == 503
    assert body["checks"]["database"]["ok"] is False
    # Connection details stay in the log, never in a public answer.
    assert "127.0.0.1" not in str(body) and "nobody" not in str(body)
