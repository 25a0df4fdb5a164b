"""A liveness signal for a process that serves no HTTP (``inbox worker``): it touches a file
while its event loop runs, and a container healthcheck (``python -m inbox.heartbeat PATH
MAX_AGE``) reads the file's age.

The file goes away when the worker begins shutting down, so a draining worker reports unhealthy
and an orchestrator does not count it as capacity.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

INTERVAL_SECONDS = 5.0


async def beat_forever(path: Path, interval: float = INTERVAL_SECONDS) -> None:
    """Touch ``path`` every ``interval`` seconds until cancelled; then remove it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        while True:
            path.touch()
            await asyncio.sleep(interval)
    finally:
        path.unlink(missing_ok=True)


def is_fresh(path: Path, max_age: float) -> bool:
    """Whether ``path`` was touched within the last ``max_age`` seconds."""
    try:
        return time.time() - path.stat().st_mtime <= max_age
    except FileNotFoundError:
        return False


def main(argv: list[str]) -> int:
    """``python -m inbox.heartbeat PATH MAX_AGE``: exit 0 if fresh, 1 if stale or missing."""
    if len(argv) != 2:
        sys.stderr.write("usage: python -m inbox.heartbeat PATH MAX_AGE_SECONDS\n")
        return 2
    return 0 if is_fresh(Path(argv[0]), float(argv[1])) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
