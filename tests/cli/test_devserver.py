"""End to end: `inbox dev` comes up, Ctrl-C stops every child, a second start keeps all data."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from sqlalchemy import func, select
from temporalio.client import Client

from inbox.contracts import WORKFLOW_TYPE, conversation_workflow_id
from inbox.db import engine_for, make_session_factory
from inbox.models import Conversation, PendingSignal, User
from tests.cli.conftest import free_port
from tests.databases import fresh_database

pytestmark = pytest.mark.devserver

REPO = Path(__file__).resolve().parents[2]
# The product promises `inbox dev` is up in under 30 s; the wait is longer so that a slow start
# fails with the log instead of a timeout.
UP_WITHIN = 30.0
WAIT_AT_MOST = 90.0


@pytest.fixture
def dev_settings(tmp_path: Path) -> Iterator[dict[str, str]]:
    with fresh_database(tmp_path) as url:
        yield {
            "INBOX_DATA_DIR": str(tmp_path / "data"),
            "INBOX_DATABASE_URL": url,
            "INBOX_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
            "INBOX_TEMPORAL_UI_PORT": str(free_port()),
            "INBOX_WEB_PORT": str(free_port()),
        }


class DevProcess:
    """`inbox dev` in a process group of its own, as a terminal would run it."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.web = f"http://127.0.0.1:{env['INBOX_WEB_PORT']}"
        self.ui = f"http://127.0.0.1:{env['INBOX_TEMPORAL_UI_PORT']}"
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "inbox.cli", "dev"],
                cwd=REPO,
                env={**os.environ, **env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,
            )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_until_up(self) -> float:
        started = time.monotonic()
        while time.monotonic() - started < WAIT_AT_MOST:
            assert self.process.poll() is None, f"inbox dev exited early:\n{self.output()}"
            # Up means what a user sees: the web answers and `inbox dev` printed its banner
            # (it polls the web itself, so it may print a moment after /healthz answers).
            try:
                if (
                    httpx.get(f"{self.web}/healthz", timeout=1).status_code == 200
                    and "Durable Inbox is running" in self.output()
                ):
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail(f"inbox dev not up within {WAIT_AT_MOST} s:\n{self.output()}")

    def stop(self, *, terminate: bool = False) -> list[psutil.Process]:
        """Ctrl-C (SIGINT to the whole process group, as a terminal sends it), or SIGTERM to
        the supervisor alone (as a service manager sends it). Returns the children it had, for
        the caller to check that none survived."""
        children: list[psutil.Process] = psutil.Process(self.process.pid).children(recursive=True)
        if terminate:
            self.process.terminate()
        else:
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"inbox dev did not stop:\n{self.output()}")
        return children

    def kill(self) -> None:
        if self.process.poll() is None:
            for child in psutil.Process(self.process.pid).children(recursive=True):
                child.kill()
            self.process.kill()
            self.process.wait()


async def _workflow_ids(address: str, expected: set[str], timeout: float = 30) -> set[str]:
    """The conversation workflows Temporal lists, polled until ``expected`` are all there."""
    client = await Client.connect(address)
    deadline = time.monotonic() + timeout
    found: set[str] = set()
    while time.monotonic() < deadline:
        found = {
            execution.id
            async for execution in client.list_workflows(f"WorkflowType = '{WORKFLOW_TYPE}'")
        }
        if expected <= found:
            break
        await asyncio.sleep(0.5)
    return found


def _database_counts(url: str) -> tuple[int, int, int]:
    sessions = make_session_factory(engine_for(url))
    with sessions() as session:
        return (
            int(session.scalar(select(func.count()).select_from(User)) or 0),
            int(session.scalar(select(func.count()).select_from(Conversation)) or 0),
            int(session.scalar(select(func.count()).select_from(PendingSignal)) or 0),
        )


def _conversation_workflow_ids(url: str) -> set[str]:
    sessions = make_session_factory(engine_for(url))
    with sessions() as session:
        return {conversation_workflow_id(i) for i in session.scalars(select(Conversation.id))}


def _assert_all_gone(children: list[psutil.Process], dev: DevProcess) -> None:
    assert dev.process.returncode == 0, dev.output()
    survivors = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert survivors == [], f"children left running: {survivors}\n{dev.output()}"


def test_dev_runs_stops_on_ctrl_c_or_sigterm_and_keeps_data(
    dev_settings: dict[str, str], tmp_path: Path
) -> None:
    url = dev_settings["INBOX_DATABASE_URL"]
    address = dev_settings["INBOX_TEMPORAL_ADDRESS"]

    dev = DevProcess(dev_settings, tmp_path / "dev-1.log")
    try:
        took = dev.wait_until_up()
        assert took < UP_WITHIN
        assert httpx.get(dev.ui, timeout=5).status_code == 200, "Temporal UI answers"
        users, conversations, _ = _database_counts(url)
        assert (users, conversations > 0) == (4, True), "demo data loaded"
        # The outbox relay starts one workflow per demo conversation.
        expected = _conversation_workflow_ids(url)
        assert expected <= asyncio.run(_workflow_ids(address, expected)), dev.output()
        children = dev.stop()
    finally:
        dev.kill()
    assert len(children) >= 3, "Temporal, worker and web ran as children"
    _assert_all_gone(children, dev)
    assert "Durable Inbox is running" in dev.output()

    # A second start finds everything: no second demo load, the same workflows in Temporal.
    again = DevProcess(dev_settings, tmp_path / "dev-2.log")
    try:
        again.wait_until_up()
        assert _database_counts(url)[:2] == (users, conversations)
        assert expected <= asyncio.run(_workflow_ids(address, expected, timeout=5))
        children = again.stop(terminate=True)
    finally:
        again.kill()
    _assert_all_gone(children, again)
    assert "Loaded demo data" not in again.output()


def test_unreachable_database_is_reported_and_temporal_stopped(
    dev_settings: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from inbox.cli import main as cli
    from inbox.settings import get_settings

    for name, value in dev_settings.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("INBOX_DATABASE_URL", f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    get_settings.cache_clear()
    before = {child.pid for child in psutil.Process().children(recursive=True)}
    try:
        assert cli.main(["dev"]) == 1
    finally:
        get_settings.cache_clear()

    assert "inbox dev: cannot prepare the database postgresql://nobody@127.0.0.1" in (
        capsys.readouterr().err
    )
    left = [c for c in psutil.Process().children(recursive=True) if c.pid not in before]
    assert [c for c in left if c.status() != psutil.STATUS_ZOMBIE] == []
