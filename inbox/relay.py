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
import weakref
from typing import Any, cast

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.converter import AdvancedJSONEncoder

from inbox.contracts import (
    TASK_QUEUE,
    WORKFLOW_TYPE,
    ConversationEvent,
    ConversationInput,
    ConversationState,
    conversation_workflow_id,
)
from inbox.models import PendingSignal
from inbox.temporal import TemporalConnector

log = logging.getLogger(__name__)

_BATCH = 500
# Where a session keeps the rows :func:`enqueue` added, for :func:`take_outgoing`.
_SESSION_KEY = "inbox.relay.enqueued"


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
    session.info.setdefault(_SESSION_KEY, []).append(row)
    return row


@dataclasses.dataclass(frozen=True)
class Outgoing:
    """The signals one transaction stored for one workflow, to send right after its commit."""

    workflow_id: str
    rows: list[PendingSignal]
    # Nothing older waited in the outbox for this workflow when the transaction wrote these:
    # they may go at once, in hand, without re-reading the outbox (order is kept).
    first_in_line: bool


def take_outgoing(session: Session, workflow_id: str) -> Outgoing:
    """Call before commit: the signals this session stored for ``workflow_id``, and whether
    any older one still waits (then :meth:`Relay.send` flushes the outbox in order instead)."""
    session.flush()
    rows = [row for row in session.info.get(_SESSION_KEY, []) if row.workflow_id == workflow_id]
    if not rows:
        return Outgoing(workflow_id, [], first_in_line=False)
    older = session.scalar(
        select(PendingSignal.id)
        .where(
            PendingSignal.workflow_id == workflow_id,
            PendingSignal.id < min(row.id for row in rows),
        )
        .limit(1)
    )
    return Outgoing(workflow_id, rows, first_in_line=older is None)


def enqueue_conversation_signal(
    session: Session,
    conversation_id: int,
    signal: str,
    event: ConversationEvent,
    state: ConversationState | None = None,
) -> PendingSignal:
    """Store a signal for a conversation's workflow, starting it if it is not running (with
    ``state`` as its first state, if given: otherwise it loads the stored row)."""
    return enqueue(
        session,
        workflow_id=conversation_workflow_id(conversation_id),
        signal=signal,
        payload=event,
        start_input=ConversationInput(conversation_id=conversation_id, state=state),
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
    """Delivers pending signals. One per process; safe to call from many tasks.

    Order matters only within one workflow, so each workflow has its own lock: flushes for
    different conversations run side by side (a process-wide lock would make every webhook wait
    for every other's signal round trip). Database work runs in a thread, off the event loop.
    """

    def __init__(self, sessions: sessionmaker[Session], temporal: TemporalConnector) -> None:
        self._sessions = sessions
        self._temporal = temporal
        # Weak values: a lock lives while some flush holds or waits on it, then goes away.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, workflow_id: str) -> asyncio.Lock:
        lock = self._locks.get(workflow_id)
        if lock is None:
            lock = self._locks[workflow_id] = asyncio.Lock()
        return lock

    async def flush(self, workflow_id: str | None = None) -> int:
        """Deliver pending signals (all, or one workflow's); returns how many were delivered.

        Never raises for Temporal being unreachable: the rows stay for the next attempt.
        """
        if workflow_id is not None:
            return await self._flush_one(workflow_id)
        delivered = 0
        for pending_id in await asyncio.to_thread(self._pending_workflows):
            delivered += await self._flush_one(pending_id)
        return delivered

    async def send(self, outgoing: Outgoing) -> int:
        """Deliver what a committed transaction stored: in hand when it was first in line,
        else by flushing the workflow's outbox in order. Never raises for Temporal."""
        if not (outgoing.first_in_line and outgoing.rows):
            return await self._flush_one(outgoing.workflow_id)
        async with self._lock(outgoing.workflow_id):
            delivered, _failed = await self._deliver(outgoing.rows)
            return delivered

    def _pending_workflows(self) -> list[str]:
        with self._sessions() as session:
            query = (
                select(PendingSignal.workflow_id)
                .group_by(PendingSignal.workflow_id)
                .order_by(func.min(PendingSignal.id))
                .limit(_BATCH)
            )
            return list(session.scalars(query))

    def _pending_rows(self, workflow_id: str) -> list[PendingSignal]:
        with self._sessions() as session:
            query = (
                select(PendingSignal)
                .where(PendingSignal.workflow_id == workflow_id)
                .order_by(PendingSignal.id)
                .limit(_BATCH)
            )
            return list(session.scalars(query))

    async def _flush_one(self, workflow_id: str) -> int:
        async with self._lock(workflow_id):
            delivered = 0
            while rows := await asyncio.to_thread(self._pending_rows, workflow_id):
                count, failed = await self._deliver(rows)
                delivered += count
                if failed or len(rows) < _BATCH:
                    break
            return delivered

    async def _deliver(self, rows: list[PendingSignal]) -> tuple[int, bool]:
        """Send ``rows`` (one workflow's, in order) until one fails; record the outcome."""
        try:
            client = await self._temporal.get()
        except Exception as exc:  # any connection failure means "try later"
            log.warning("Temporal unreachable, %d signal(s) wait in the outbox: %s", len(rows), exc)
            return 0, True
        done: list[int] = []
        failure: tuple[int, str] | None = None
        for row in rows:
            try:
                await _send(client, row)
            except Exception as exc:  # recorded on the row, retried later
                log.warning("signal %s to %s failed: %s", row.signal, row.workflow_id, exc)
                failure = (row.id, str(exc)[:1000])
                break
            done.append(row.id)
        await asyncio.to_thread(self._record, done, failure)
        return len(done), failure is not None

    def _record(self, done: list[int], failure: tuple[int, str] | None) -> None:
        # Core statements on the table: the ORM's bulk machinery costs more than the statement.
        table = cast(Table, PendingSignal.__table__)
        with self._sessions() as session:
            connection = session.connection()
            if done:
                connection.execute(delete(table).where(table.c.id.in_(done)))
            if failure is not None:
                row_id, error = failure
                connection.execute(
                    update(table)
                    .where(table.c.id == row_id)
                    .values(attempts=table.c.attempts + 1, last_error=error)
                )
            session.commit()

    async def run_forever(self, interval: float) -> None:
        """Retry what is left every ``interval`` seconds until cancelled."""
        while True:
            try:
                await self.flush()
            except Exception:  # a database hiccup must not end the relay
                log.exception("outbox relay pass failed")
            await asyncio.sleep(interval)
