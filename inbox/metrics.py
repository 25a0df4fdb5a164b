"""Every Prometheus metric the web and worker processes export, defined once.

Names are the contract with dashboards (``docs/grafana-dashboard.json`` is checked against
:data:`EXPORTED` by the tests). Labels are bounded on purpose: a route *template*, never a raw
path; a rule's name (rules are files an operator writes); a status or reason code. Nothing here
carries a phone number or a message body.

Several uvicorn workers: with ``PROMETHEUS_MULTIPROC_DIR`` set (before this module is first
imported; ``inbox web`` does it for ``INBOX_WEB_WORKERS`` > 1) prometheus-client writes every
process's values to files there and :func:`registry_for_scrape` sums them, so any process
answers ``/metrics`` for all. The SSE gauge is ``livesum``: a process that has exited stops
counting (:func:`process_exiting` removes its files).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from inbox.models import PendingSignal

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Seconds; the web's answers are milliseconds, a webhook near Twilio's 15 s limit is the tail.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0)
# A rule's wait fires on a durable timer: lateness is the worker's backlog, seconds to minutes.
_LATENESS_BUCKETS = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

# -- web process -----------------------------------------------------------------------------

HTTP_REQUESTS = Counter(
    "inbox_http_requests_total",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "inbox_http_request_duration_seconds",
    "Time to answer an HTTP request (to the end of the body), by method and route template.",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
WEBHOOKS = Counter(
    "inbox_webhook_requests_total",
    "Provider webhooks by kind (sms, status) and outcome (stored, duplicate, applied, ignored, "
    "bad_signature, malformed, unknown_channel, too_large, unsupported_type).",
    ["webhook", "outcome"],
)
SSE_CONNECTIONS = Gauge(
    "inbox_sse_connections",
    "Live event streams (one per open inbox page) currently connected.",
    multiprocess_mode="livesum",
)
RELAY_PENDING = "inbox_relay_pending_signals"
RELAY_OLDEST_AGE = "inbox_relay_oldest_pending_age_seconds"

# -- worker process --------------------------------------------------------------------------

RULE_RUNS = Counter(
    "inbox_rule_runs_total",
    "Rule runs stored, by rule and outcome (fired, skipped, failed).",
    ["rule", "outcome"],
)
SENDS = Counter(
    "inbox_sends_total",
    "Outbound messages by the status a delivery attempt left them in (sent, delivered, "
    "blocked, failed).",
    ["status"],
)
SENDS_BLOCKED = Counter(
    "inbox_sends_blocked_total",
    "Sends refused by the guard, by stage (queueing: a rule's send_sms; sending: the moment "
    "it goes; release: the end of a hold) and reason code (opted_out, ...).",
    ["stage", "reason"],
)
SENDS_HELD = Counter(
    "inbox_sends_held_total",
    "Automated messages held for quiet hours when a rule queued them.",
)
HELD_RELEASES = Counter(
    "inbox_held_releases_total",
    "Ends of a quiet-hours hold, by outcome (queued, held_again, blocked, cancelled, gone).",
    ["outcome"],
)
WAIT_LATENESS = Histogram(
    "inbox_rule_wait_lateness_seconds",
    "How long after its due time a rule's wait was evaluated.",
    buckets=_LATENESS_BUCKETS,
)

# What we export (the Temporal SDK's own metrics, ``temporal_*``, come from its runtime), for
# the dashboard check. A counter ``x_total`` is sampled as ``x_total``; a histogram as
# ``x_bucket``/``x_sum``/``x_count``.
EXPORTED: frozenset[str] = frozenset(
    {
        "inbox_http_requests_total",
        "inbox_http_request_duration_seconds",
        "inbox_webhook_requests_total",
        "inbox_sse_connections",
        RELAY_PENDING,
        RELAY_OLDEST_AGE,
        "inbox_rule_runs_total",
        "inbox_sends_total",
        "inbox_sends_blocked_total",
        "inbox_sends_held_total",
        "inbox_held_releases_total",
        "inbox_rule_wait_lateness_seconds",
    }
)

# The Temporal SDK's metrics the dashboard charts (its runtime names them; durations in ms).
# tests/observability/test_worker_metrics.py checks that the SDK exports each.
TEMPORAL_SDK: frozenset[str] = frozenset(
    {
        "temporal_workflow_task_schedule_to_start_latency",
        "temporal_activity_schedule_to_start_latency",
        "temporal_worker_task_slots_available",
        "temporal_sticky_cache_size",
        "temporal_request",
    }
)


class RelayBacklog(Collector):
    """The outbox relay's backlog, read from the database at each scrape (it is shared by every
    process, so one reading is the whole truth; nothing to sum across processes)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._sessions() as session:
            count, oldest = session.execute(
                select(func.count(PendingSignal.id), func.min(PendingSignal.created_at))
            ).one()
        pending = GaugeMetricFamily(
            RELAY_PENDING, "Workflow signals waiting in the outbox for Temporal."
        )
        pending.add_metric([], float(count or 0))
        age = GaugeMetricFamily(
            RELAY_OLDEST_AGE,
            "Age of the oldest signal waiting in the outbox (0 when it is empty).",
        )
        age.add_metric([], _age_seconds(oldest))
        yield pending
        yield age


def _age_seconds(oldest: datetime | None) -> float:
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:  # SQLite hands back naive UTC
        oldest = oldest.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - oldest).total_seconds())


class _Registry(Collector):
    """Adapts a registry to a collector of another (the process-wide one in single-process
    mode, beside the per-scrape collectors)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterable[object]:  # type: ignore[override]
        return self._registry.collect()


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def registry_for_scrape(extra: Iterable[Collector] = ()) -> CollectorRegistry:
    """What one scrape answers: this process's metrics (every process's, in multiprocess mode)
    plus ``extra`` collectors read at scrape time."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_mode():
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Registry(REGISTRY))
    for collector in extra:
        registry.register(collector)
    return registry


def process_exiting() -> None:
    """Forget this process's live gauges (multiprocess mode), so a stopped web process stops
    counting its streams."""
    if multiprocess_mode():
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def serve_worker_metrics(host: str, port: int) -> WSGIServer:
    """Serve this process's metrics on ``host:port`` (any path) from a daemon thread; returns
    the server (``shutdown()`` stops it)."""
    server, _thread = start_http_server(port, addr=host)
    return server


def temporal_runtime(host: str, port: int) -> Runtime:
    """A Temporal runtime whose SDK metrics (``temporal_*``: task latencies, slots, polls,
    sticky cache) are served in Prometheus format on ``host:port`` by the SDK's core."""
    return Runtime(
        telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"{host}:{port}"))
    )


def prepare_multiprocess_dir(directory: Path) -> None:
    """Point prometheus-client at an empty ``directory`` for processes started after this (the
    uvicorn workers): a stale file from an earlier run would be summed in."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(directory)
