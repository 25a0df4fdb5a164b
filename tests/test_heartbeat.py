"""The worker's heartbeat file and the healthcheck that reads it."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from inbox.heartbeat import beat_forever, main


async def test_beats_while_running_and_goes_away_on_cancel(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "worker.alive"
    task = asyncio.create_task(beat_forever(path, interval=0.01))
    while not path.exists():
        await asyncio.sleep(0.01)
    assert main([str(path), "30"]) == 0
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert not path.exists()
    assert main([str(path), "30"]) == 1


def test_a_stale_file_is_unhealthy(tmp_path: Path) -> None:
    path = tmp_path / "worker.alive"
    path.touch()
    old = time.time() - 60
    os.utime(path, (old, old))
    assert main([str(path), "30"]) == 1
    assert main([str(path), "90"]) == 0
    assert main([str(path)]) == 2
