"""SIGTERM stops a real ``inbox worker`` within its bound, under load, every time.

Each round starts ``inbox worker`` (its own process, as compose runs it) against the Temporal
dev server and a database full of inbound messages waiting in the outbox, with an auto-reply
rule (so workflow tasks, local activities and provider sends are all in flight), SIGTERMs it
once it is busy, and times the exit. The distribution is printed (``-s`` shows it).
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from inbox import migrations, relay
from inbox.db import engine_for, make_session_factory
from inbox.models import Message, PendingSignal
from inbox.services.inbound import receive_and_commit
from tests.databases import fresh_database
from tests.factories import Factory
from tests.temporal_servers import dev_server

pytestmark = [pytest.mark.devserver, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
ROUNDS = 20
STOP_WITHIN = 30.0
MESSAGES_PER_ROUND = 40

RULE = """\
- name: auto-reply
  trigger: message_received
  then:
    - send_sms: "Thanks, we got your message."
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    folder = tmp_path_factory.mktemp("worker-stop")
    (folder / "rules").mkdir()
    (folder / "rules" / "auto-reply.yaml").write_text(RULE)
    with dev_server(folder / "temporal.log") as address, fresh_database(folder) as url:
        migrations.upgrade(url)
        yield address, url, folder


def _load(sessions: sessionmaker[Session], channel_number: str, round_no: int) -> None:
    """Inbound texts from new contacts, stored as the webhook stores them (signals in the
    outbox): the worker's relay delivers them, and each starts a workflow that auto-replies."""
    with sessions() as session:
        for i in range(MESSAGES_PER_ROUND):
            receive_and_commit(
                session,
                lambda: relay.commit(session),
                provider="simulator",
                provider_message_id=f"SMstop{round_no:02d}{i:03d}",
                from_number=f"+1202555{round_no:02d}{i:02d}",
                to_number=channel_number,
                body=f"hello {i}",
                media=[],
            )


def _outbound(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return (
            session.scalar(
                select(func.count()).select_from(Message).where(Message.direction == "outbound")
            )
            or 0
        )


def _pending(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(PendingSignal)) or 0


@pytest.mark.timeout(ROUNDS * (STOP_WITHIN + 40))
def test_sigterm_stops_the_worker_within_its_bound_every_time(
    stack: tuple[str, str, Path],
) -> None:
    address, url, folder = stack
    sessions = make_session_factory(engine_for(url))
    with sessions() as session:
        channel = Factory(session).channel()
        channel_number = channel.number
    env = {
        **os.environ,
        "INBOX_DATABASE_URL": url,
        "INBOX_TEMPORAL_ADDRESS": address,
        "INBOX_RULES_DIR": str(folder / "rules"),
        "INBOX_DATA_DIR": str(folder / "data"),
        "INBOX_RELAY_INTERVAL_SECONDS": "0.2",
    }
    times: list[float] = []
    codes: list[int] = []
    log_path = folder / "worker.log"
    for round_no in range(ROUNDS):
        _load(sessions, channel_number, round_no)
        before = _outbound(sessions)
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "inbox.cli", "worker"],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        try:
            # Busy: some auto-replies went out, and more work is queued behind them.
            deadline = time.monotonic() + 60
            while _outbound(sessions) - before < 3:
                assert process.poll() is None, f"worker died; see {log_path}"
                assert time.monotonic() < deadline, f"worker never got busy; see {log_path}"
                time.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            sent = time.monotonic()
            try:
                codes.append(process.wait(timeout=STOP_WITHIN + 30))
            except subprocess.TimeoutExpired:
                codes.append(-999)
            times.append(time.monotonic() - sent)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    print(
        f"\nstop times over {ROUNDS} SIGTERMs (s): min {min(times):.2f}, "
        f"median {statistics.median(times):.2f}, max {max(times):.2f}; "
        f"all: {' '.join(f'{t:.2f}' for t in times)}; exit codes {codes}; "
        f"left in the outbox {_pending(sessions)}"
    )
    assert all(t < STOP_WITHIN for t in times), times
    assert codes == [0] * ROUNDS, codes
