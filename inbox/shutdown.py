"""Stopping a long-running process on SIGTERM or SIGINT, within a bound.

``inbox worker`` used to turn SIGTERM into ``KeyboardInterrupt`` (``signal.default_int_handler``).
That exception is raised wherever the main thread happens to be: inside the event loop's own
callbacks, in the middle of a Temporal SDK activation or a local activity's completion. asyncio
then cancels every task at once, the SDK's core loses the channels it completes local
activities on (it panics: "Receive half of LA request channel cannot be dropped") and the
worker's shutdown waits for completions that never come: the hang seen in 2 of 7 stops.

Here a signal only sets an :class:`asyncio.Event` from the loop's own signal handling (never
in the middle of other code); the process then shuts down in order (the Temporal worker's
:meth:`~temporalio.worker.Worker.shutdown`: stop polling, let running tasks finish for the
graceful period, cancel the rest) and a :class:`Watchdog` thread, armed at the first signal,
ends the process with exit code 1 if that takes longer than its bound: a stop is always
bounded, and one that overran says so. A second signal exits at once (code 1).
"""

from __future__ import annotations

import asyncio
import faulthandler
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable

import uvloop

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Watchdog:
    """Ends the process (exit code 1) if it is still running ``bound`` seconds after
    :meth:`arm`. A thread, so a blocked event loop or a thread the interpreter waits for at
    exit cannot hold it up."""

    def __init__(self, bound: float, what: str) -> None:
        self._bound = bound
        self._what = what
        self._timer: threading.Timer | None = None

    def arm(self) -> None:
        if self._timer is None:
            self._timer = threading.Timer(self._bound, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        log.error(
            "%s did not stop within %.0f s; exiting with code 1 (stacks follow)",
            self._what,
            self._bound,
        )
        # Where every thread is stuck: what the next fix needs.
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        logging.shutdown()
        os._exit(1)


def _exit_now(signum: int, frame: object) -> None:
    log.error("%s again while stopping: exiting now with code 1", signal.Signals(signum).name)
    logging.shutdown()
    os._exit(1)


def run_until_signalled(
    main: Callable[[asyncio.Event], Awaitable[None]], *, bound: float, what: str
) -> int:
    """Run ``main(stop)`` on uvloop until it returns; SIGTERM or SIGINT sets ``stop``, after
    which ``main`` has ``bound`` seconds to return before the watchdog ends the process.
    Returns the exit code (0)."""
    watchdog = Watchdog(bound, what)

    async def supervised() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        stopping_since: list[float] = []

        def on_signal(signum: int) -> None:
            log.info("%s: stopping %s (at most %.0f s)", signal.Signals(signum).name, what, bound)
            stopping_since.append(time.monotonic())
            watchdog.arm()
            # A second signal must work even if the stop blocks the event loop: a plain
            # handler runs between bytecodes of the main thread (and interrupts its sleeps).
            for other in SIGNALS:
                loop.remove_signal_handler(other)
                signal.signal(other, _exit_now)
            stop.set()

        for signum in SIGNALS:
            loop.add_signal_handler(signum, on_signal, signum)
        try:
            await main(stop)
        finally:
            if not stop.is_set():
                for signum in SIGNALS:
                    loop.remove_signal_handler(signum)
        if stopping_since:
            log.info("%s stopped in %.1f s", what, time.monotonic() - stopping_since[0])

    uvloop.run(supervised())
    # The watchdog stays armed through interpreter exit (which joins worker threads).
    return 0
