"""The Temporal worker: runs the conversation and send-message workflows and their activities,
automation's included (so ``inbox worker`` runs the rules in ``INBOX_RULES_DIR``).

``inbox worker`` (and ``inbox dev``) call :func:`run_worker`; tests call :func:`build_worker`
with their own client, database and provider.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import timedelta
from typing import Any
from wsgiref.simple_server import WSGIServer

from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities.automation import AutomationActivities
from activities.sms import SmsActivities
from activities.store import StoreActivities
from inbox import metrics, tracing
from inbox.contracts import TASK_QUEUE
from inbox.db import engine_for, make_session_factory
from inbox.heartbeat import beat_forever
from inbox.providers import SmsProvider, get_provider
from inbox.relay import Relay
from inbox.rules import retention
from inbox.settings import Settings
from inbox.temporal import TemporalConnector, connect
from workflows.conversation import ConversationWorkflow
from workflows.send_message import SendMessageWorkflow

log = logging.getLogger(__name__)

# Two executors, so a slow provider can only slow sending, never a conversation's events:
# - the database steps of every conversation (loading its state, each event's store step, a
#   rule's actions: local activities) run on DB_THREADS threads, which also bounds the database
#   connections they hold;
# - the calls to other systems (the provider's send and status calls, a rule's webhook: regular
#   activities) run on SEND_THREADS threads, and at most that many run at once.
DB_THREADS = 8
SEND_THREADS = 16

# The sandbox costs every workflow activation, not only the first: it re-imports a workflow's
# modules for each workflow run it creates, and runs the run's code and every payload
# conversion through its restricted importer. Measured on the auto-reply path (py-spy, the
# inbound benchmark's load): new workflow task to workflow code 18.6 ms sandboxed (our modules
# passed through), 10.0 ms unsandboxed. Our workflow code is deterministic and keeps no module
# state, and the sandbox is a development-time check: the workflow tests (tests/workflows, the
# rules rig) run it fully sandboxed, and the replay tests replay recorded histories, which is
# where a non-deterministic call is caught. Production runs it unsandboxed, as Temporal's
# documentation allows for exactly this cost; tests/workflows/test_worker.py runs this
# production set-up.
PRODUCTION_RUNNER = UnsandboxedWorkflowRunner()

# In INBOX_DATA_DIR; docker-compose's healthcheck reads its age (inbox/heartbeat.py).
HEARTBEAT_FILE = "worker.alive"
# A stop's bound is the graceful period plus this: cancelled activities return, the relay's
# last flush (at most relay.DRAIN_SECONDS), the process exits.
SHUTDOWN_MARGIN_SECONDS = 8.0


def activities(
    store: StoreActivities, sms: SmsActivities, automation: AutomationActivities
) -> list[Callable[..., Any]]:
    """Every activity the worker registers (the tests' fakes are held against this list)."""
    return [
        store.load_conversation_state,
        store.observe_conversation,
        store.release_held_message,
        store.wake_snoozed_conversation,
        store.sla_alert,
        sms.deliver_message,
        sms.mark_message_failed,
        automation.run_rule,
    ]


def build_worker(
    client: Client,
    *,
    sessions: sessionmaker[Session],
    settings: Settings,
    provider: SmsProvider | None = None,
    db_executor: Executor | None = None,
    activity_executor: Executor | None = None,
    automation: AutomationActivities | None = None,
    sandboxed: bool = False,
) -> Worker:
    """A worker on the ``inbox`` task queue with every workflow and activity registered.

    ``provider`` defaults to the one the settings name; ``db_executor`` (the database steps) and
    ``activity_executor`` (the calls to other systems) to new thread pools (pass your own to
    shut them down when the worker stops); ``automation`` to the automation activities on
    ``sessions`` and ``settings`` (rules from ``settings.rules_dir``). ``sandboxed`` runs our
    workflow modules fully sandboxed (re-imported per run).
    """
    db_executor = db_executor or ThreadPoolExecutor(DB_THREADS, thread_name_prefix="db")
    calls = activity_executor or ThreadPoolExecutor(SEND_THREADS, thread_name_prefix="send")
    store = StoreActivities(sessions, settings, db_executor)
    sms = SmsActivities(sessions, provider or get_provider(settings, sessions))
    automation = automation or AutomationActivities(
        sessions, settings, executor=db_executor, calls_executor=calls
    )
    return Worker(
        client,
        task_queue=TASK_QUEUE,
        workflows=[ConversationWorkflow, SendMessageWorkflow],
        activities=activities(store, sms, automation),
        # The SMS activities are synchronous: they run here, with the webhook rules.
        activity_executor=calls,
        max_concurrent_activities=SEND_THREADS,
        max_cached_workflows=settings.worker_max_cached_workflows,
        workflow_runner=SandboxedWorkflowRunner() if sandboxed else PRODUCTION_RUNNER,
        # On SIGTERM, let a provider call in flight finish instead of retrying it later.
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_graceful_shutdown_seconds),
    )


def _sdk_metrics(settings: Settings) -> Runtime | None:
    """The runtime to connect on when the Temporal SDK's metrics are wanted (its core serves
    them on ``INBOX_TEMPORAL_METRICS_PORT``; docs/operations.md)."""
    if not settings.temporal_metrics_port:
        return None
    host, port = settings.worker_metrics_host, settings.temporal_metrics_port
    log.info("Temporal SDK metrics on http://%s:%s/metrics", host, port)
    return metrics.temporal_runtime(host, port)


def _our_metrics(settings: Settings) -> WSGIServer | None:
    """Serve our metrics on ``INBOX_WORKER_METRICS_PORT`` (if set)."""
    if not settings.worker_metrics_port:
        return None
    host, port = settings.worker_metrics_host, settings.worker_metrics_port
    log.info("worker metrics on http://%s:%s/metrics", host, port)
    return metrics.serve_worker_metrics(host, port)


def stop_bound(settings: Settings) -> float:
    """Seconds a stop may take, from SIGTERM to exit: the graceful period for running
    activities, then room for their cancellation to land and the last outbox flush."""
    return settings.worker_graceful_shutdown_seconds + SHUTDOWN_MARGIN_SECONDS


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Connect to Temporal and the database and run the worker (and the outbox relay, which
    retries signals that could not reach Temporal) until ``stop`` is set or the task is
    cancelled. On ``stop`` it shuts down in order: no new polls, running tasks finish (or are
    cancelled after the graceful period), then the relay flushes once more."""
    tracing.configure("inbox-worker")
    client = await connect(settings, runtime=_sdk_metrics(settings))
    metrics_server = _our_metrics(settings)
    sessions = make_session_factory(engine_for(settings.database_url))
    provider = get_provider(settings, sessions)
    relay = Relay(sessions, TemporalConnector(settings, client))
    # Not ``with`` blocks: leaving one waits for every thread, so an activity stuck in a
    # synchronous call would hold the stop past any bound. The SDK's shutdown already waits
    # for the activities it runs; what is left is dropped (queued work is cancelled).
    db_executor = ThreadPoolExecutor(DB_THREADS, thread_name_prefix="db")
    send_executor = ThreadPoolExecutor(SEND_THREADS, thread_name_prefix="send")
    worker = build_worker(
        client,
        sessions=sessions,
        settings=settings,
        provider=provider,
        db_executor=db_executor,
        activity_executor=send_executor,
    )
    background = [
        asyncio.create_task(relay.run_forever(settings.relay_interval_seconds)),
        asyncio.create_task(
            retention.prune_forever(sessions, settings.automation_run_retention_days)
        ),
    ]
    heartbeat = asyncio.create_task(beat_forever(settings.data_dir / HEARTBEAT_FILE))
    log.info(
        "worker on task queue %r at %s (provider %s)",
        TASK_QUEUE,
        settings.temporal_address,
        provider.name,
    )
    running = asyncio.create_task(worker.run())
    try:
        if stop is None:
            await asyncio.shield(running)
        else:
            stopped = asyncio.create_task(stop.wait())
            await asyncio.wait({running, stopped}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
    finally:
        # Not ready for more work from here on (the healthcheck's heartbeat goes first).
        heartbeat.cancel()
        if not running.done():
            await worker.shutdown()
        for task in background:
            task.cancel()
        await asyncio.gather(running, heartbeat, *background, return_exceptions=True)
        await relay.drain()
        db_executor.shutdown(wait=False, cancel_futures=True)
        send_executor.shutdown(wait=False, cancel_futures=True)
        if metrics_server is not None:
            metrics_server.shutdown()
        tracing.flush()
    running.result()  # a worker that failed by itself fails the command
