"""Automation: reaction latency against the floor, and timer precision under a herd.

Starts one Temporal dev server exactly as ``inbox dev`` does (SQLite file, WAL pragmas, the
custom search attributes) and measures on it, in one run:

1. **floor** — a bare signal → trivial activity round trip: a worker process (the same
   workflow runner and event loop as ``inbox worker``) whose workflow runs one activity (that
   only reads the clock) per signal; signal-with-start of a new workflow, latency = when the
   activity ran - when the signal was sent;
2. **reaction latency** — ``inbox migrate``, ``inbox web`` and ``inbox worker`` as separate
   processes (SQLite app database, the simulator as the provider) with a rules folder holding
   one immediate acknowledgement rule; signed Twilio webhooks from new contacts; latency =
   when the simulator's outbox row for the auto-reply was created (the moment the SMS was
   handed to the provider) - when the webhook was sent. The two are measured in alternating
   blocks of 10 s at the same steady rate, so a busy stretch of the machine weighs on both;
3. **timer floor** — N bare workflows (the floor's worker) whose timers all fall due at the
   same instant, each then running one trivial local activity: how late the last one runs is
   what this server and the SDK's worker do with such a herd when the work is nothing;
4. **timer precision** — the rules folder is switched (hot reload, no restart) to one delayed
   rule; N conversations get an inbound message stored at the same instant T, so their rule
   waits all fall due at T + wait; lateness = when each rule's action ran - T - wait.

Usage: ``python bench/automation.py [--rate 5] [--seconds 60] [--timers 1000] [--wait 180]``.
Prints the figures; ``docs/performance.md`` keeps them.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402

from bench.inbound import (  # noqa: E402
    CHANNEL_NUMBER,
    CpuMeter,
    Stack,
    start_stack,
    start_temporal,
    temporal_server,
)
from bench.reaction_floor import (  # noqa: E402
    BenchReactionFloor,
    BenchTimerFloor,
    bench_clock,
    bench_now,
)

FLOOR_QUEUE = "bench-automation-floor"
TIMER_PREFIX = "+1404"

ACK_RULE = """
- name: bench-acknowledge
  trigger: message_received
  then:
    - send_sms: "Thanks {{ contact.first_name or 'there' }}, we got your message."
"""

DELAYED_RULE = """
- name: bench-delayed
  trigger: message_received
  wait: {wait}s
  if:
    - conversation.status: open
  then:
    - add_tag: bench-due
"""


async def run_floor_worker(address: str) -> None:
    from inbox.cli.worker import PRODUCTION_RUNNER

    client = await Client.connect(address)
    # The runner ``inbox worker`` uses (and its event loop, see ``_run``): the floor is what the
    # same SDK set-up does with no work of ours.
    async with Worker(
        client,
        task_queue=FLOOR_QUEUE,
        workflows=[BenchReactionFloor, BenchTimerFloor],
        activities=[bench_clock, bench_now],
        workflow_runner=PRODUCTION_RUNNER,
    ):
        await asyncio.Event().wait()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"p50 {percentile(ms, 50):7.1f} ms  p99 {percentile(ms, 99):7.1f} ms  "
        f"max {max(ms):7.1f} ms  (n={len(ms)})"
    )


async def steady(
    rate: float, seconds: float, send: Callable[[int], Coroutine[Any, Any, None]]
) -> None:
    """Call ``send(i)`` at ``rate`` per second for ``seconds`` (open loop: no waiting for
    earlier calls), then wait for every call to finish."""
    interval = 1 / rate
    start = time.perf_counter()
    tasks: list[asyncio.Task[None]] = []
    for i in range(int(rate * seconds)):
        delay = start + i * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(i)))
    await asyncio.gather(*tasks)


def start_floor_worker(address: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, __file__, "--floor-worker", address], cwd=ROOT)


async def _floor_one(client: Client, workflow_id: str) -> float:
    handle = await client.start_workflow(
        "BenchReactionFloor",
        id=workflow_id,
        task_queue=FLOOR_QUEUE,
        start_signal="message",
        start_signal_args=[time.time()],
        result_type=float,
    )
    result: float = await handle.result()
    return result


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive UTC datetimes.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def outbox_times(database_url: str) -> dict[str, float]:
    """When the provider (the simulator) was handed each outbound SMS, by recipient."""
    from sqlalchemy import select

    from inbox.db import engine_for
    from inbox.models import SimulatorMessage

    with engine_for(database_url).connect() as conn:
        rows = conn.execute(
            select(SimulatorMessage.to_number, SimulatorMessage.created_at).where(
                SimulatorMessage.direction == "outbound"
            )
        ).all()
    return {number: _utc(created).timestamp() for number, created in rows}


class Webhooks:
    """Signed Twilio webhooks from new contacts, and when each was sent."""

    def __init__(self, stack: Stack, http: httpx.AsyncClient) -> None:
        from twilio.request_validator import RequestValidator

        from inbox.settings import DEV_TWILIO_AUTH_TOKEN

        self.validator = RequestValidator(DEV_TWILIO_AUTH_TOKEN)
        self.url = f"{stack.base_url}/webhooks/twilio/sms"
        self.http = http
        self.sent: dict[str, float] = {}

    async def post(self, n: int, number: str) -> None:
        params = {
            "MessageSid": f"SMreact{n:028d}",
            "AccountSid": "AC00000000000000000000000000000000",
            "From": number,
            "To": CHANNEL_NUMBER,
            "Body": "Hello, is anyone there?",
            "NumMedia": "0",
        }
        headers = {"X-Twilio-Signature": self.validator.compute_signature(self.url, params)}
        self.sent[number] = time.time()
        response = await self.http.post(self.url, data=params, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"webhook {n}: {response.status_code} {response.text}")


async def measure_side_by_side(
    stack: Stack, client: Client, rate: float, seconds: float, block: float = 10.0
) -> tuple[list[float], list[float]]:
    """(floor latencies, reaction latencies), each measured for ``seconds`` at ``rate`` per
    second, in alternating blocks of ``block`` seconds (floor, reaction, floor …) with a pause
    between them: a slow stretch of a shared machine then weighs on both, and neither
    measurement overlaps the other's work."""
    address = client.service_client.config.target_host
    floor_worker = start_floor_worker(address)
    run = f"floor-{int(time.time())}"
    floor: list[float] = []
    # CPU of our processes per auto-reply (they are idle during the floor's blocks): a figure
    # a busy machine disturbs far less than latency.
    meter = CpuMeter(
        {"web": psutil.Process(stack.web.pid), "worker": psutil.Process(stack.worker.pid)}
    )
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            webhooks = Webhooks(stack, http)
            # Warm up (workers connected, caches and connection pools filled), then measure.
            for i in range(5):
                await _floor_one(client, f"{run}-warm-{i}")
                await webhooks.post(900_000 + i, f"+1303{i:07d}")
            webhooks.sent.clear()
            meter.start()
            offset = 0
            for _ in range(max(1, round(seconds / block))):
                await asyncio.sleep(1)

                async def probe(i: int, base: int = offset) -> None:
                    floor.append(await _floor_one(client, f"{run}-{base + i}"))

                await steady(rate, block, probe)
                await asyncio.sleep(1)

                async def post(i: int, base: int = offset) -> None:
                    await webhooks.post(base + i, f"+1202{base + i:07d}")

                await steady(rate, block, post)
                offset += int(rate * block)
    finally:
        floor_worker.terminate()
        floor_worker.wait(10)
    latencies = await reaction_latencies(stack, webhooks.sent)
    print(meter.report(len(latencies)).replace("ms/msg", "ms/reply"), flush=True)
    return floor, latencies


async def reaction_latencies(stack: Stack, sent: dict[str, float]) -> list[float]:
    """Seconds from each webhook to its auto-reply handed to the provider (and where the time
    went), once every auto-reply has reached the provider."""
    expected = set(sent)
    deadline = time.monotonic() + 120
    while True:
        handed = outbox_times(stack.env["INBOX_DATABASE_URL"])
        if expected <= set(handed) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    missing = expected - set(handed)
    if missing:
        raise RuntimeError(f"{len(missing)} auto-replies never reached the provider")
    stored, queued = message_times(stack.env["INBOX_DATABASE_URL"])
    print(
        "  where the time goes (p50): webhook -> inbound stored "
        f"{percentile([stored[n] - sent[n] for n in expected], 50) * 1000:.1f} ms, "
        f"-> auto-reply queued by the rule "
        f"{percentile([queued[n] - stored[n] for n in expected], 50) * 1000:.1f} ms, "
        f"-> handed to the provider "
        f"{percentile([handed[n] - queued[n] for n in expected], 50) * 1000:.1f} ms",
        flush=True,
    )
    return [handed[number] - sent[number] for number in expected]


def message_times(database_url: str) -> tuple[dict[str, float], dict[str, float]]:
    """(when each contact's inbound message was stored, when its auto-reply was queued)."""
    from sqlalchemy import select

    from inbox.db import engine_for
    from inbox.models import Message

    with engine_for(database_url).connect() as conn:
        rows = conn.execute(
            select(Message.direction, Message.from_number, Message.to_number, Message.created_at)
        ).all()
    stored = {frm: _utc(at).timestamp() for d, frm, _to, at in rows if d == "inbound"}
    queued = {to: _utc(at).timestamp() for d, _frm, to, at in rows if d == "outbound"}
    return stored, queued


def store_simultaneous(database_url: str, count: int, at: datetime) -> None:
    """``count`` new conversations, each with one inbound message stored at instant ``at``
    and its signal queued with that time (as if they had all arrived together)."""
    from sqlalchemy import select

    from inbox.db import engine_for, make_session_factory
    from inbox.models import Message, PendingSignal
    from inbox.services.inbound import receive_inbound

    sessions = make_session_factory(engine_for(database_url))
    with sessions() as session:
        for i in range(count):
            result = receive_inbound(
                session,
                provider="simulator",
                provider_message_id=f"SMtimer{i:027d}",
                from_number=f"{TIMER_PREFIX}{i:07d}",
                to_number=CHANNEL_NUMBER,
                body="Any news?",
                media=[],
            )
            result.message.created_at = at
        session.flush()
        for row in session.scalars(select(PendingSignal)):
            row.payload = {**row.payload, "at": at.isoformat()}
        session.commit()
        stored = session.scalars(select(Message.id).where(Message.created_at == at)).all()
        if len(stored) != count:
            raise RuntimeError(f"stored {len(stored)} messages, expected {count}")


def action_times(database_url: str, rule: str) -> list[float]:
    from sqlalchemy import select

    from inbox.db import engine_for
    from inbox.models import RuleAction

    with engine_for(database_url).connect() as conn:
        rows = conn.scalars(select(RuleAction.created_at).where(RuleAction.rule == rule)).all()
    return [_utc(created).timestamp() for created in rows]


async def measure_timers(
    stack: Stack, client: Client, server: psutil.Process, rules_dir: Path, count: int, wait: int
) -> tuple[list[float], float]:
    """Returns (lateness of each fired rule in seconds, seconds until all waits were armed)."""
    from inbox.db import engine_for, make_session_factory
    from inbox.relay import Relay
    from inbox.settings import Settings
    from inbox.temporal import TemporalConnector

    for path in rules_dir.glob("*.yaml"):
        path.unlink()
    (rules_dir / "delayed.yaml").write_text(DELAYED_RULE.format(wait=wait))
    database_url = stack.env["INBOX_DATABASE_URL"]
    at = datetime.now(UTC).replace(microsecond=0)
    due = (at + timedelta(seconds=wait)).timestamp()
    store_simultaneous(database_url, count, at)
    relay = Relay(
        make_session_factory(engine_for(database_url)),
        TemporalConnector(Settings(database_url=database_url), client),
    )
    await relay.flush()
    armed_after = await _all_clocks_recorded(database_url, count)
    if time.time() >= due:
        raise RuntimeError(f"arming took {armed_after:.0f} s, past the {wait} s wait: use more")
    await asyncio.sleep(max(0.0, due - time.time() - 1))
    meter = CpuMeter(
        {
            "temporal": server,
            "worker": psutil.Process(stack.worker.pid),
            "web": psutil.Process(stack.web.pid),
        }
    )
    meter.start()
    deadline = due + 300
    fired: list[float] = []
    while time.time() < deadline:
        fired = action_times(database_url, "bench-delayed")
        if len(fired) >= count:
            break
        await asyncio.sleep(0.5)
    if len(fired) < count:
        raise RuntimeError(f"only {len(fired)} of {count} delayed rules fired")
    print(meter.report(count).replace("ms/msg", "ms/firing"), flush=True)
    return [t - due for t in fired], armed_after


async def measure_timer_floor(
    client: Client, server: psutil.Process, count: int, wait: int
) -> list[float]:
    """Lateness (s) of ``count`` bare workflows whose timers fall due at the same instant, each
    then running one trivial local activity: what this server and the SDK's worker do with the
    herd when the work is nothing (the floor of the timer measurement)."""
    worker = start_floor_worker(client.service_client.config.target_host)
    run = f"timer-floor-{int(time.time())}"
    try:
        await asyncio.sleep(3)  # the worker connects
        due = time.time() + wait
        gate = asyncio.Semaphore(32)

        async def start(i: int) -> Any:
            async with gate:
                return await client.start_workflow(
                    "BenchTimerFloor",
                    id=f"{run}-{i}",
                    task_queue=FLOOR_QUEUE,
                    start_signal="due",
                    start_signal_args=[due],
                    result_type=float,
                )

        handles = await asyncio.gather(*(start(i) for i in range(count)))
        if time.time() >= due:
            raise RuntimeError(f"starting {count} floor timers took past the {wait} s wait")
        await asyncio.sleep(max(0.0, due - time.time() - 1))
        meter = CpuMeter({"temporal": server, "floor worker": psutil.Process(worker.pid)})
        meter.start()
        ran = await asyncio.gather(*(handle.result() for handle in handles))
        print(meter.report(count).replace("ms/msg", "ms/firing"), flush=True)
        return [at - due for at in ran]
    finally:
        worker.terminate()
        worker.wait(10)


async def _all_clocks_recorded(database_url: str, count: int) -> float:
    """Seconds until every conversation's workflow recorded the message (and so armed its
    wait, which follows in the same workflow task)."""
    from sqlalchemy import func, select

    from inbox.db import engine_for
    from inbox.models import Conversation

    started = time.time()
    engine = engine_for(database_url)
    while True:
        with engine.connect() as conn:
            done = conn.scalar(
                select(func.count())
                .select_from(Conversation)
                .where(
                    Conversation.contact_number.like(f"{TIMER_PREFIX}%"),
                    Conversation.last_inbound_at.is_not(None),
                )
            )
        if (done or 0) >= count:
            return time.time() - started
        await asyncio.sleep(0.5)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="inbox-bench-") as tmp:
        data_dir = Path(tmp)
        rules_dir = data_dir / "rules"
        rules_dir.mkdir()
        (rules_dir / "ack.yaml").write_text(ACK_RULE)
        env = await start_temporal(data_dir)
        address = env.client.service_client.config.target_host
        try:
            stack = start_stack(
                address, data_dir, rules_dir, {"INBOX_AUTOMATION_SENDS_PER_HOUR": "100"}
            )
            try:
                floor, reaction = await measure_side_by_side(
                    stack, env.client, args.rate, args.seconds
                )
                print(f"floor: signal -> trivial activity   {summary(floor)}", flush=True)
                print(f"reaction: webhook -> provider      {summary(reaction)}", flush=True)
                ratio = statistics.median(reaction) / statistics.median(floor)
                print(f"p50 ratio (target <= 1.5)          {ratio:8.2f}", flush=True)
                if args.timers:
                    floor_late = await measure_timer_floor(
                        env.client, temporal_server(env), args.timers, args.wait
                    )
                    print(
                        f"timer floor: {args.timers} bare timers due at once; lateness "
                        f"p50 {percentile(floor_late, 50):.2f} s, "
                        f"p99 {percentile(floor_late, 99):.2f} s, last {max(floor_late):.2f} s",
                        flush=True,
                    )
                    late, armed = await measure_timers(
                        stack, env.client, temporal_server(env), rules_dir, args.timers, args.wait
                    )
                    print(
                        f"timers: {args.timers} due at once, armed in {armed:.0f} s; lateness "
                        f"p50 {percentile(late, 50):.2f} s, p99 {percentile(late, 99):.2f} s, "
                        f"last {max(late):.2f} s (target <= 10 s)",
                        flush=True,
                    )
            finally:
                stack.stop()
        finally:
            await env.shutdown()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=float, default=5.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--timers", type=int, default=1000)
    parser.add_argument("--wait", type=int, default=180, help="the delayed rule's wait (s)")
    parser.add_argument("--floor-worker", metavar="ADDRESS", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _run(arguments: argparse.Namespace) -> Any:
    if arguments.floor_worker:
        import uvloop

        return uvloop.run(run_floor_worker(arguments.floor_worker))
    return asyncio.run(main(arguments))


if __name__ == "__main__":
    _run(parse_args())
