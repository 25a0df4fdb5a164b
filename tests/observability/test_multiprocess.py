"""Several web processes (``INBOX_WEB_WORKERS`` > 1): each writes its metrics to
``PROMETHEUS_MULTIPROC_DIR`` and any one answers for all; a process that exited stops counting
its live streams."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.observability.conftest import samples, value

ONE_PROCESS = """
from inbox import metrics
metrics.HTTP_REQUESTS.labels("GET", "/healthz", "200").inc(3)
metrics.SSE_CONNECTIONS.inc(2)
if {exits}:
    metrics.process_exiting()
"""
SCRAPE = """
from prometheus_client import generate_latest
from inbox import metrics
print(generate_latest(metrics.registry_for_scrape()).decode())
"""


def _run(code: str, directory: Path) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_any_process_answers_for_all(tmp_path: Path) -> None:
    directory = tmp_path / "prometheus"
    directory.mkdir()
    _run(ONE_PROCESS.format(exits=False), directory)  # still "running": its streams count
    _run(ONE_PROCESS.format(exits=True), directory)  # stopped: its streams are gone
    scraped = samples(_run(SCRAPE, directory))
    requests = "inbox_http_requests_total"
    assert value(scraped, requests, method="GET", route="/healthz", status="200") == 6
    assert value(scraped, "inbox_sse_connections") == 2
