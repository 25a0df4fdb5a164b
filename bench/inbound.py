"""Inbound throughput, end to end, against the floor of bare signal-with-start.

Starts one Temporal dev server exactly as ``inbox dev`` does (SQLite file, WAL pragmas, the
custom search attributes) and measures on it, in one run:

1. **floor** — bare signal-with-start of an empty workflow: a worker process that only counts
   signals, and N signal-with-start calls over C workflow ids, until every workflow has counted
   its signals;
2. **end to end** — ``inbox web`` and ``inbox worker`` as separate processes, and N signed
   Twilio webhooks over C conversations, until every message is stored AND processed by its
   conversation workflow (the workflow has written the message's time as the conversation's
   ``last_inbound_at``);
3. **worker memory** — M more conversations opened through the webhook, sampling the worker
   process's resident memory.

Usage: ``python bench/inbound.py [--messages 1000] [--conversations 200] [--memory-conversations
10000] [--concurrency 32]``. Prints the figures and the ratio; ``docs/performance.md`` keeps them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

ROOT = Path(__file__).resolve().parents[1]
CHANNEL_NUMBER = "+14155550100"
FLOOR = Path(__file__).resolve().parent / "floor.py"
FLOOR_QUEUE = "bench-floor"


class CpuMeter:
    """CPU seconds (user + system) each named process spent between ``start`` and ``stop``:
    shows where a phase's work went on a machine whose cores every process shares."""

    def __init__(self, processes: dict[str, psutil.Process]) -> None:
        self._processes = processes
        self._before: dict[str, float] = {}
        self._wall = 0.0

    @staticmethod
    def _cpu(proc: psutil.Process) -> float:
        total = 0.0
        # This process's children are the processes measured apart; count only itself.
        family = [proc] if proc.pid == os.getpid() else [proc, *proc.children(recursive=True)]
        for one in family:
            with contextlib.suppress(psutil.Error):
                times = one.cpu_times()
                total += times.user + times.system
        return total

    def start(self) -> None:
        self._before = {name: self._cpu(proc) for name, proc in self._processes.items()}
        self._wall = time.perf_counter()

    def report(self, messages: int) -> str:
        wall = time.perf_counter() - self._wall
        parts = []
        for name, proc in self._processes.items():
            spent = self._cpu(proc) - self._before[name]
            parts.append(f"{name} {spent:5.1f} s ({spent / messages * 1000:.1f} ms/msg)")
        return f"  CPU over {wall:.1f} s wall: " + ", ".join(parts)


def temporal_server(env: WorkflowEnvironment) -> psutil.Process:
    """The dev server process ``start_local`` spawned (a child of this process)."""
    for child in psutil.Process().children():
        if "temporal" in " ".join(child.cmdline()):
            return child
    raise RuntimeError("no Temporal dev server child process found")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def temporal_binary() -> str:
    candidate = Path(sys.executable).parent / "temporal"
    return str(candidate) if candidate.exists() else "temporal"


async def start_temporal(data_dir: Path) -> WorkflowEnvironment:
    from inbox.cli.dev import SQLITE_PRAGMA_ARGS
    from inbox.contracts import SA_ASSIGNEE, SA_INBOX, SA_LAST_INBOUND, SA_STATUS

    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        dev_server_database_filename=str(data_dir / "temporal.db"),
        dev_server_extra_args=list(SQLITE_PRAGMA_ARGS),
        search_attributes=[SA_STATUS, SA_INBOX, SA_ASSIGNEE, SA_LAST_INBOUND],
        port=free_port(),
    )


async def measure_floor(
    client: Client,
    address: str,
    server: psutil.Process,
    messages: int,
    conversations: int,
    concurrency: int,
) -> float:
    worker = subprocess.Popen([sys.executable, str(FLOOR), address], cwd=ROOT)
    meter = CpuMeter(
        {"temporal": server, "worker": psutil.Process(worker.pid), "bench": psutil.Process()}
    )
    try:
        run = f"floor-{int(time.time())}"
        ids = [f"{run}-{i}" for i in range(conversations)]
        gate = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with gate:
                await client.start_workflow(
                    "BenchFloorWorkflow",
                    id=ids[i % conversations],
                    task_queue=FLOOR_QUEUE,
                    start_signal="message",
                    start_signal_args=[f"hello {i}"],
                )

        await asyncio.sleep(1)  # let the worker start polling
        meter.start()
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(messages)))
        expected = messages // conversations
        for workflow_id in ids:
            handle = client.get_workflow_handle(workflow_id)
            while await handle.query("count") < expected:
                await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
        print(meter.report(messages))
        for workflow_id in ids:
            await client.get_workflow_handle(workflow_id).terminate()
        return messages / elapsed
    finally:
        worker.terminate()
        worker.wait(10)


@dataclass
class Stack:
    web: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes]
    base_url: str
    env: dict[str, str]

    def stop(self) -> None:
        for proc in (self.web, self.worker):
            proc.terminate()
        for proc in (self.web, self.worker):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def start_stack(
    address: str,
    data_dir: Path,
    rules_dir: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> Stack:
    """``inbox migrate``, then ``inbox worker`` and ``inbox web`` on a SQLite database in
    ``data_dir`` (the simulator as the provider; no rules unless ``rules_dir``), answering."""
    port = free_port()
    env = {
        **os.environ,
        "INBOX_DATA_DIR": str(data_dir),
        "INBOX_DATABASE_URL": f"sqlite:///{data_dir / 'inbox.db'}",
        "INBOX_TEMPORAL_ADDRESS": address,
        "INBOX_WEB_PORT": str(port),
        "INBOX_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "INBOX_RULES_DIR": str(rules_dir or data_dir / "no-rules"),
        **(extra_env or {}),
    }
    inbox = str(Path(sys.executable).parent / "inbox")
    subprocess.run([inbox, "migrate"], env=env, check=True, cwd=ROOT)
    seed(env["INBOX_DATABASE_URL"])
    worker = subprocess.Popen([inbox, "worker"], env=env, cwd=ROOT)
    web = subprocess.Popen([inbox, "web"], env=env, cwd=ROOT)
    stack = Stack(web=web, worker=worker, base_url=env["INBOX_PUBLIC_URL"], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{stack.base_url}/healthz", timeout=1).status_code == 200:
                return stack
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stack.stop()
    raise RuntimeError("inbox web did not answer /healthz within 60 s")


def seed(database_url: str) -> None:
    from inbox.db import make_engine, make_session_factory
    from inbox.models import Channel, Inbox

    sessions = make_session_factory(make_engine(database_url))
    with sessions() as session:
        inbox = Inbox(name="Bench")
        session.add(Channel(name="Bench line", number=CHANNEL_NUMBER, default_inbox=inbox))
        session.commit()


def contact_number(i: int) -> str:
    return f"+1202{i:07d}"


async def post_webhooks(
    stack: Stack, start: int, messages: int, conversations: int, concurrency: int
) -> None:
    from twilio.request_validator import RequestValidator

    from inbox.settings import DEV_TWILIO_AUTH_TOKEN

    validator = RequestValidator(DEV_TWILIO_AUTH_TOKEN)
    url = f"{stack.base_url}/webhooks/twilio/sms"
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=60) as http:

        async def one(i: int) -> None:
            params = {
                "MessageSid": f"SMbench{start + i:026d}",
                "AccountSid": "AC00000000000000000000000000000000",
                "From": contact_number(start + i % conversations),
                "To": CHANNEL_NUMBER,
                "Body": f"Hello, this is message {i}",
                "NumMedia": "0",
            }
            headers = {"X-Twilio-Signature": validator.compute_signature(url, params)}
            async with gate:
                response = await http.post(url, data=params, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"webhook {i}: {response.status_code} {response.text}")

        await asyncio.gather(*(one(i) for i in range(messages)))


def processed_count(database_url: str, conversation_ids: set[int] | None = None) -> tuple[int, int]:
    """(messages stored, conversations whose workflow has processed their newest message)."""
    from sqlalchemy import func, select

    from inbox.db import engine_for
    from inbox.models import Conversation, Message

    engine = engine_for(database_url)
    with engine.connect() as conn:
        stored = conn.scalar(select(func.count()).select_from(Message)) or 0
        newest = (
            select(Message.conversation_id, func.max(Message.created_at).label("newest"))
            .where(Message.direction == "inbound")
            .group_by(Message.conversation_id)
            .subquery()
        )
        rows = conn.execute(
            select(Conversation.id, Conversation.last_inbound_at, newest.c.newest).join(
                newest, newest.c.conversation_id == Conversation.id
            )
        ).all()
    done = 0
    for _id, last_inbound, newest_at in rows:
        if last_inbound is not None and newest_at is not None:
            done += _same_instant(last_inbound, newest_at)
    return stored, done


def _same_instant(a: Any, b: Any) -> bool:
    # SQLite returns naive values from the raw connection; compare without zone information.
    return bool(a.replace(tzinfo=None) == b.replace(tzinfo=None))


async def wait_processed(
    database_url: str, messages: int, conversations: int, timeout: float = 600
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stored, done = processed_count(database_url)
        if stored >= messages and done >= conversations:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"not processed in {timeout} s: {processed_count(database_url)}")


async def measure_end_to_end(
    stack: Stack, server: psutil.Process, messages: int, conversations: int, concurrency: int
) -> float:
    meter = CpuMeter(
        {
            "temporal": server,
            "web": psutil.Process(stack.web.pid),
            "worker": psutil.Process(stack.worker.pid),
            "bench": psutil.Process(),
        }
    )
    meter.start()
    started = time.perf_counter()
    await post_webhooks(stack, 0, messages, conversations, concurrency)
    accepted = time.perf_counter() - started
    await wait_processed(stack.env["INBOX_DATABASE_URL"], messages, conversations)
    elapsed = time.perf_counter() - started
    print(meter.report(messages))
    print(
        f"  all webhooks answered 200 after {accepted:.1f} s, all processed after {elapsed:.1f} s"
    )
    return messages / elapsed


async def measure_memory(
    stack: Stack, opened: int, conversations: int, concurrency: int
) -> tuple[float, float]:
    """Open ``conversations`` more conversations; return (peak RSS MiB, seconds taken)."""
    worker = psutil.Process(stack.worker.pid)
    peak = 0
    stop = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            rss = worker.memory_info().rss + sum(
                child.memory_info().rss for child in worker.children(recursive=True)
            )
            peak = max(peak, rss)
            await asyncio.sleep(0.2)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    await post_webhooks(stack, 1_000_000, conversations, conversations, concurrency)
    await wait_processed(stack.env["INBOX_DATABASE_URL"], 0, opened + conversations, timeout=1800)
    elapsed = time.perf_counter() - started
    stop.set()
    await sampler
    return peak / 2**20, elapsed


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="inbox-bench-") as tmp:
        data_dir = Path(tmp)
        env = await start_temporal(data_dir)
        address = env.client.service_client.config.target_host
        try:
            server = temporal_server(env)
            floor = await measure_floor(
                env.client, address, server, args.messages, args.conversations, args.concurrency
            )
            print(f"floor: bare signal-with-start      {floor:8.1f} msg/s")
            stack = start_stack(address, data_dir)
            try:
                e2e = await measure_end_to_end(
                    stack, server, args.messages, args.conversations, args.concurrency
                )
                print(f"end to end: webhook -> workflow    {e2e:8.1f} msg/s")
                print(f"ratio (target >= 0.8)              {e2e / floor:8.2f}")
                if args.memory_conversations:
                    peak, took = await measure_memory(
                        stack, args.conversations, args.memory_conversations, args.concurrency
                    )
                    print(
                        f"worker peak RSS, {args.memory_conversations} more conversations: "
                        f"{peak:.0f} MiB (target < 1024), opened in {took:.0f} s"
                    )
            finally:
                stack.stop()
        finally:
            await env.shutdown()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--memory-conversations", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    asyncio.run(main(parse_args()))
