"""The outbox relay: a message acknowledged with 2xx is never lost, even if Temporal is down.

Services call :func:`enqueue` inside the transaction that stores the change; the caller commits
with :func:`commit`, which returns what the transaction stored, and hands that to
:meth:`Relay.send` at once (the web does it after the response is sent, so no request waits on
Temporal); :meth:`Relay.run_forever` (in every web and worker process) retries whatever is
left. Signals reach each workflow in the order they were stored. A signal can be delivered twice
(two processes flushing at once, a crash between signal and delete); every payload carries a
``key`` the workflow uses to ignore repeats.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import groupby
from typing import Any, cast

from sqlalchemy import Table, delete, func, inspect, select, update
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
    PendingEvent,
    conversation_workflow_id,
)
from inbox.models import PendingSignal
from inbox.temporal import TemporalConnector

log = logging.getLogger(__name__)

_BATCH = 500
# How long a request's own signals may take after its answer (:meth:`Relay.send`). The answer
# is sent first, but a keep-alive connection (Twilio reuses them) takes its next request only
# when this one's background work is done: bounded here, a Temporal outage costs a webhook at
# most this, instead of the client's ten seconds of retries or a hanging connect.
SEND_TIMEOUT_SECONDS = 2.0
# The last flush of a process that is stopping (:meth:`Relay.drain`).
DRAIN_SECONDS = 2.0
# Where a session keeps the rows :func:`enqueue` added in its transaction, for :func:`commit`.
_SESSION_KEY = "inbox.relay.enqueued"
# The workflow whose own activity holds the session (see :func:`signals_for_caller`).
_CALLER_KEY = "inbox.relay.caller"


def to_json(value: Any) -> dict[str, Any]:
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
) -> None:
    """Store a signal-with-start for after commit. ``payload``/``start_input`` are dataclasses.

    Inside :func:`signals_for_caller` for ``workflow_id``, the signal is handed back instead."""
    if not dataclasses.is_dataclass(payload) or not dataclasses.is_dataclass(start_input):
        raise TypeError("payload and start_input must be dataclass instances")
    caller = session.info.get(_CALLER_KEY)
    if caller is not None and caller[0] == workflow_id:
        caller[1].append(PendingEvent(signal, payload))  # type: ignore[arg-type]
        return
    row = PendingSignal(
        workflow_id=workflow_id,
        workflow_type=workflow_type,
        start_input=to_json(start_input),
        signal=signal,
        payload=to_json(payload),
    )
    session.add(row)
    session.info.setdefault(_SESSION_KEY, []).append(row)


@contextmanager
def signals_for_caller(session: Session, workflow_id: str) -> Iterator[list[PendingEvent]]:
    """Within the block, signals for ``workflow_id`` are collected in the yielded list instead
    of stored: the session belongs to that workflow's own activity, which returns them for the
    workflow to apply (a workflow never signals itself; the relay would only echo them back)."""
    caught: list[PendingEvent] = []
    session.info[_CALLER_KEY] = (workflow_id, caught)
    try:
        yield caught
    finally:
        session.info.pop(_CALLER_KEY, None)


@dataclasses.dataclass(frozen=True)
class Outgoing:
    """The signals one transaction stored for one workflow, to send right after its commit."""

    workflow_id: str
    rows: list[PendingSignal]
    # Nothing older waited in the outbox for this workflow when the transaction wrote these:
    # they may go at once, in hand, without re-reading the outbox (order is kept).
    first_in_line: bool


def commit(session: Session) -> list[Outgoing]:
    """Commit ``session``'s transaction and return the signals it stored, one :class:`Outgoing`
    per workflow, for :meth:`Relay.send` right after: the one way every request that changes a
    conversation commits (the webhook, the JSON API, the web inbox)."""
    session.flush()
    # Rows a rollback (or a rolled-back savepoint) took back are no longer persistent.
    rows = [row for row in session.info.pop(_SESSION_KEY, []) if inspect(row).persistent]
    outgoing = []
    ordered = sorted(rows, key=lambda row: (row.workflow_id, row.id))
    for workflow_id, group in groupby(ordered, key=lambda row: row.workflow_id):
        mine = list(group)
        older = session.scalar(
            select(PendingSignal.id)
            .where(PendingSignal.workflow_id == workflow_id, PendingSignal.id < mine[0].id)
            .limit(1)
        )
        outgoing.append(Outgoing(workflow_id, mine, first_in_line=older is None))
    session.commit()
    return outgoing


def enqueue_conversation_signal(
    session: Session,
    conversation_id: int,
    signal: str,
    event: ConversationEvent,
    state: ConversationState | None = None,
) -> None:
    """Store a signal for a conversation's workflow, starting it if it is not running (with
    ``state`` as its first state, if given: otherwise it loads the stored row)."""
    enqueue(
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

    async def send(self, outgoing: list[Outgoing], timeout: float = SEND_TIMEOUT_SECONDS) -> int:
        """Deliver what a committed transaction stored (:func:`commit`): each workflow's in
        hand when it was first in line, else by flushing its outbox in order. Gives up after
        ``timeout`` seconds. Never raises: what cannot go now stays for the background pass."""
        delivered = 0
        try:
            async with asyncio.timeout(timeout):
                for item in outgoing:
                    try:
                        if item.first_in_line:
                            async with self._lock(item.workflow_id):
                                delivered += (await self._deliver(item.rows))[0]
                        else:
                            delivered += await self._flush_one(item.workflow_id)
                    except Exception:  # stored; the background pass retries it
                        log.exception(
                            "could not send %s's signals now; the relay retries", item.workflow_id
                        )
        except TimeoutError:
            log.warning(
                "Temporal did not take %d signal(s) within %.0f s; the relay retries",
                sum(len(item.rows) for item in outgoing) - delivered,
                timeout,
            )
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

    async def drain(self, timeout: float = DRAIN_SECONDS) -> int:
        """One last :meth:`flush` before the process exits, given at most ``timeout`` seconds;
        what does not go in time stays for another process's relay. Never raises."""
        try:
            return await asyncio.wait_for(self.flush(), timeout)
        except TimeoutError:
            log.warning("outbox not flushed within %.0f s; other relays deliver the rest", timeout)
        except Exception:  # the database is gone too: the rows stay for the next process
            log.exception("last outbox flush failed")
        return 0

    async def run_forever(self, interval: float) -> None:
        """Retry what is left every ``interval`` seconds until cancelled."""
        while True:
            try:
                await self.flush()
            except Exception:  # a database hiccup must not end the relay
                log.exception("outbox relay pass failed")
            await asyncio.sleep(interval)
