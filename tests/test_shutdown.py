"""SIGTERM handling of long-running commands (inbox/shutdown.py), in child processes: a clean
stop exits 0, one that overruns its bound is ended by the watchdog with code 1, and a second
signal ends it at once."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest

# A command whose main either returns when asked to stop, or never does (a stuck shutdown:
# it blocks its event loop in a synchronous call, which no cancellation can interrupt).
PROGRAM = textwrap.dedent(
    """
    import asyncio, logging, sys, time
    from inbox.shutdown import run_until_signalled

    logging.basicConfig(level=logging.INFO)
    stuck = sys.argv[1] == "stuck"

    async def main(stop):
        print("ready", flush=True)
        await stop.wait()
        if stuck:
            time.sleep(600)

    sys.exit(run_until_signalled(main, bound=float(sys.argv[2]), what="test command"))
    """
)


def _start(mode: str, bound: float) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", PROGRAM, mode, str(bound)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def _stop(process: subprocess.Popen[str], *signals: signal.Signals) -> tuple[int, float, str]:
    started = time.monotonic()
    for signum in signals:
        process.send_signal(signum)
        time.sleep(0.2)
    _, err = process.communicate(timeout=30)
    return process.returncode, time.monotonic() - started, err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_clean_stop_exits_0(signum: signal.Signals) -> None:
    code, elapsed, err = _stop(_start("clean", 10), signum)
    assert code == 0, err
    assert elapsed < 5
    assert "test command stopped in" in err
    assert "KeyboardInterrupt" not in err


def test_a_stop_past_its_bound_is_ended_with_code_1() -> None:
    code, elapsed, err = _stop(_start("stuck", 1.5), signal.SIGTERM)
    assert code == 1
    assert 1.5 <= elapsed < 10
    assert "did not stop within 2 s" in err
    assert "most recent call first" in err  # the stacks of every thread follow


def test_a_second_signal_exits_at_once() -> None:
    code, elapsed, err = _stop(_start("stuck", 60), signal.SIGTERM, signal.SIGTERM)
    assert code == 1
    assert elapsed < 10
    assert "SIGTERM again while stopping" in err
