"""Temporal servers for tests that need a real frontend: the dev server (the same server code a
cluster runs, in one process), and a "black hole" that accepts TCP connections but never
answers (Temporal behind a dropped route: the outage that hangs instead of refusing)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from inbox.contracts import SEARCH_ATTRIBUTES
from tests.cli.conftest import free_port

TEMPORAL = shutil.which("temporal") or str(Path(sys.executable).parent / "temporal")
TEST_SERVER = shutil.which("temporal-test-server") or str(
    Path(sys.executable).parent / "temporal-test-server"
)


@contextmanager
def dev_server(log: Path | None = None) -> Iterator[str]:
    """A headless in-memory dev server with the app's search attributes; yields its address
    once its frontend port accepts connections."""
    port = free_port()
    command = [TEMPORAL, "server", "start-dev", "--headless", "--ip", "127.0.0.1",
               "--port", str(port), "--log-level", "error"]  # fmt: skip
    for name, kind in SEARCH_ATTRIBUTES.items():
        command += ["--search-attribute", f"{name}={kind}"]
    out = log.open("ab") if log else subprocess.DEVNULL
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the Temporal dev server did not start") from None
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log:
            out.close()  # type: ignore[union-attr]


@contextmanager
def black_hole() -> Iterator[str]:
    """An address whose TCP handshake succeeds (the kernel completes it into the backlog) but
    which never reads or answers: a gRPC call to it hangs until its deadline."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"127.0.0.1:{listener.getsockname()[1]}"


async def time_skipping(**options: Any) -> WorkflowEnvironment:
    """``WorkflowEnvironment.start_time_skipping`` with our test server binary, tried up to
    three times: the SDK gives the server 5 s to listen, which a machine busy with the rest of
    the suite can miss (seen on PostgreSQL runs: "did not start within 5s")."""
    options.setdefault("test_server_existing_path", TEST_SERVER)
    for attempt in range(3):
        try:
            return await WorkflowEnvironment.start_time_skipping(**options)
        except RuntimeError as error:
            if "did not start" not in str(error) or attempt == 2:
                raise
    raise AssertionError("unreachable")
