"""The floor for the inbound benchmark: a worker whose workflow only counts signals.

Run as ``python bench/floor.py ADDRESS``; ``bench/inbound.py`` starts it. Kept apart from the
benchmark (which imports httpx, psutil …) so the workflow sandbox re-imports only this file.
"""

from __future__ import annotations

import asyncio
import sys

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

TASK_QUEUE = "bench-floor"
WORKFLOW_TYPE = "BenchFloorWorkflow"


@workflow.defn(name=WORKFLOW_TYPE)
class BenchFloorWorkflow:
    """Takes signals and counts them, nothing else."""

    def __init__(self) -> None:
        self._count = 0

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.signal
    def message(self, _body: str) -> None:
        self._count += 1

    @workflow.query
    def count(self) -> int:
        return self._count


async def serve(address: str) -> None:
    client = await Client.connect(address)
    async with Worker(client, task_queue=TASK_QUEUE, workflows=[BenchFloorWorkflow]):
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1]))
