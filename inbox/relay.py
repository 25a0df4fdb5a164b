"""The outbox relay: a message acknowledged with 2xx is never lost, even if Temporal is down.

Services call :func:`enqueue` inside the transaction that stores the change; after commit the
caller may :func:`flush` that workflow for low latency, and :func:`run_forever` (in every web and
worker process) retries whatever is left. Signals reach each workflow in the order they were
stored. A signal can be delivered twice (two processes flushing at once, a crash between signal
and delete); every payload carries a ``key`` the workflow uses to ignore repeats.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.converter import AdvancedJSONEncoder

from inbox.models import PendingSignal
from inbox.temporal import TemporalConnector
from workflows.contracts import (
    TASK_QUEUE,
    WORKFLOW_TYPE,
    ConversationEvent,
    ConversationInput,
    conversation_workflow_id,
)

log = logging.getLogger(__name__)

_BATCH = 500


def _to_json(value: Any) -> dict[str, Any]:
    """A dataclass as the JSON Temporal's default converter would send."""
    data: dict[str, Any] = json.loads(json.dumps(value, cls=AdvancedJSONEncoder))
    return data


def enqueue(
    session: Session,
    *,
    workflow_id: str,
    signal: str,
    payload: Any,
    start_input: Any,
    workflow_type: str = WORKFLOW_TYPE,
) -> PendingSignal:
    """Store a signal-with-start for after commit. ``payload``/``start_input`` are dataclasses."""
    if not dataclasses.is_dataclass(payload) or not dataclasses.is_dataclass(start_input):
        raise TypeError("payload and start_input must be dataclass instances")
    row = PendingSignal(
        workflow_id=workflow_id,
        workflow_type=workflow_type,
        start_input=_to_json(start_input),
        signal=signal,
        payload=_to_json(payload),
    )
    session.add(row)
    return row


def enqueue_conversation_signal(
    session: Session, conversation_id: int, signal: str, event: ConversationEvent
) -> PendingSignal:
    """Store a signal for a conversation's workflow, starting it if it is not running."""
    return enqueue(
        session,
        workflow_id=conversation_workflow_id(conversation_id),
        signal=signal,
        payload=event,
        start_input=ConversationInput(conversation_id=conversation_id),
    )


async def _send(client: Client, row: PendingSignal) -> None:
    await client.start_workflow(
        row.workflow_type,
        row.start_input,
        id=row.workflow_id,
        task_queue=TASK_QUEUE,
        start_signal=row.signal,
        start_signal_args=[row.payload],
        # A workflow that already runs takes the signal; a finished one (a closed conversation
        # after its quiet period) starts again and loads its state from the database.
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


class Relay:
    """Delivers pending signals. One per process; safe to call from many tasks."""

    def __init__(self, sessions: sessionmaker[Session], temporal: TemporalConnector) -> None:
        self._sessions = sessions
        self._temporal = temporal
        self._lock = asyncio.Lock()

    async def flush(self, workflow_id: str | None = None) -> int:
        """Deliver pending signals (all, or one workflow's); returns how many were delivered.

        Never raises for Temporal being unreachable: the rows stay for the next attempt.
        """
        async with self._lock:
            delivered = 0
            while True:
                with self._sessions() as session:
                    query = select(PendingSignal).order_by(PendingSignal.id).limit(_BATCH)
                    if workflow_id is not None:
                        query = query.where(PendingSignal.workflow_id == workflow_id)
                    rows = list(session.scalars(query))
                if not rows:
                    return delivered
                count, failed = await self._deliver(rows)
                delivered += count
                if failed or len(rows) < _BATCH:
                    return delivered

    async def _deliver(self, rows: list[PendingSignal]) -> tuple[int, bool]:
        try:
            client = await self._temporal.get()
        except Exception as exc:
            log.warning("Temporal unreachable, %d signal(s) wait in the outbox: %s", len(rows), exc)
            return 0, True
        blocked: set[str] = set()  # keep per-workflow order: skip later rows after a failure
        done: list[int] = []
        failures: dict[int, str] = {}
        for row in rows:
            if row.workflow_id in blocked:
                continue
            try:
                await _send(client, row)
            except Exception as exc:
                log.warning("signal %s to %s failed: %s", row.signal, row.workflow_id, exc)
                blocked.add(row.workflow_id)
                failures[row.id] = str(exc)[:1000]
                continue
            done.append(row.id)
        with self._sessions() as session:
            if done:
                session.execute(delete(PendingSignal).where(PendingSignal.id.in_(done)))
            for row_id, error in failures.items():
                session.execute(
                    update(PendingSignal)
                    .where(PendingSignal.id == row_id)
                    .values(attempts=PendingSignal.attempts + 1, last_error=error)
                )
            session.commit()
        return len(done), bool(failures)

    async def run_forever(self, interval: float) -> None:
        """Retry what is left every ``interval`` seconds until cancelled."""
        while True:
            try:
                await self.flush()
            except Exception:  # a database hiccup must not end the relay
                log.exception("outbox relay pass failed")
            await asyncio.sleep(interval)
