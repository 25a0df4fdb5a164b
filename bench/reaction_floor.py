"""The floors of ``bench/automation.py``: a bare signal -> trivial activity round trip, and a
bare timer -> trivial local activity.

In a module of its own so the workflow sandbox re-imports only this (the benchmark's other
imports do not belong in a workflow).
"""

from __future__ import annotations

import time
from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bench_clock")
async def bench_clock(sent_at: float) -> float:
    """The trivial activity: how long after ``sent_at`` it ran (seconds)."""
    return time.time() - sent_at


@workflow.defn(name="BenchReactionFloor")
class BenchReactionFloor:
    """The floor: on its start signal, run one trivial activity; remember the latency."""

    def __init__(self) -> None:
        self._sent: list[float] = []

    @workflow.run
    async def run(self) -> float:
        await workflow.wait_condition(lambda: bool(self._sent))
        latency: float = await workflow.execute_activity(
            bench_clock, self._sent[0], start_to_close_timeout=timedelta(seconds=30)
        )
        return latency

    @workflow.signal
    def message(self, sent_at: float) -> None:
        self._sent.append(sent_at)


@activity.defn(name="bench_now")
async def bench_now() -> float:
    """The trivial local activity of the timer floor: when it ran."""
    return time.time()


@workflow.defn(name="BenchTimerFloor")
class BenchTimerFloor:
    """The timer floor: sleep until the instant its start signal names, then run one trivial
    local activity (the shape of a rule's wait falling due); returns when that ran."""

    def __init__(self) -> None:
        self._due: list[float] = []

    @workflow.run
    async def run(self) -> float:
        await workflow.wait_condition(lambda: bool(self._due))
        await workflow.sleep(max(0.0, self._due[0] - workflow.now().timestamp()))
        ran: float = await workflow.execute_local_activity(
            bench_now, start_to_close_timeout=timedelta(seconds=30)
        )
        return ran

    @workflow.signal
    def due(self, at: float) -> None:
        self._due.append(at)
