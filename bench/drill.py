"""A production drill: the multi-process topology under load, with processes killed mid-load.

Runs, all on this machine and all torn down afterwards:

- a PostgreSQL app database of its own (created, migrated, loaded with the demo data, dropped);
- the Temporal dev server (``temporal server start-dev``: the server code a cluster runs, on a
  SQLite file of its own, on free ports);
- **two ``inbox web`` and two ``inbox worker`` processes**, real subprocesses of the CLI, with
  an auto-reply rule (``drill-auto-reply``: every inbound text gets one automated answer that
  quotes it);

then sends signed Twilio webhooks spread over both web processes, at a steady moderate rate,
from senders that behave like Twilio: a request that is not answered 2xx (refused, cut off,
timed out, 5xx) is sent again, to the other web process as a load balancer would route it; and
a share of the acknowledgements is treated as lost on the way back, so the same MessageSid
arrives twice even when the first delivery was stored (the idempotency on MessageSid must absorb
it). Mid-load it kills one worker and one web process with SIGKILL and restarts them (the web
process with a burst of webhooks in flight, some stored but not yet answered), and stops the
other worker with SIGTERM (timing the stop) and restarts it. Before the load, and again
after the restarts, an agent's live stream (SSE) on web A must see a note added through web B
(the live feed, woken by PostgreSQL LISTEN/NOTIFY).

When the load ends and the system has drained, it prints: sent, acknowledged, stored,
processed by workflows, auto-replies (in the database and at the provider), duplicates, stuck
workflows; and it fails unless every acknowledged message is stored and processed exactly once
and every one got exactly one auto-reply, sent once.

The SMS provider is Twilio pointed at a fake Twilio API (``bench/fake_twilio.py``, a real HTTP
server that cuts off a share of its answers after taking the message, so the provider must
reconcile instead of sending twice, and whose ``delivered`` status callbacks the drill posts,
signed, over both web processes) when the settings have a Twilio API base address (issue 14
item 8; found by name, any ``twilio_*`` setting with ``url`` or ``base`` in it). Without one it
is the built-in simulator, and the auto-replies are counted where the simulator delivers them
(``simulator_messages``). The inbound side is Twilio's exact webhook either way (form fields
and ``X-Twilio-Signature``).

Usage: ``python bench/drill.py [--contacts 40] [--per-contact 3] [--duration 60]``; the
PostgreSQL server is ``INBOX_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432``).
``tests/drill/test_drill.py`` runs it (``./scripts/test -m drill``, a step of ``.ci/run``).
Exit code 0 when the drill passes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import queue
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.fake_twilio import FakeTwilio  # noqa: E402
from inbox.cli.dev import SQLITE_PRAGMA_ARGS, find_temporal_binary  # noqa: E402
from inbox.contracts import SEARCH_ATTRIBUTES  # noqa: E402
from inbox.providers.twilio import INBOUND_PATH, SIGNATURE_HEADER, compute_signature  # noqa: E402
from tests.databases import postgres_database  # noqa: E402

# The demo's "Main line", routed to Support, whose default assignee is the demo agent.
CHANNEL_NUMBER = "+14155550100"
AGENT_EMAIL, AGENT_PASSWORD = "agent@demo.test", "demo1234"
RULE_NAME = "drill-auto-reply"
REPLY_PREFIX = "Auto-reply to: "
RULES_YAML = f"""\
# The drill's one rule: every inbound text gets exactly one automated answer quoting it.
- name: {RULE_NAME}
  description: Answer every inbound text once, quoting it (the drill counts the answers).
  trigger: message_received
  then:
    - send_sms: "{REPLY_PREFIX}{{{{ message.body }}}}"
"""
# Every web process sees the same public address, as behind a proxy: signatures sign it. Plain
# http, as nothing here terminates TLS (an https address makes the session cookie Secure).
PUBLIC_URL = "http://drill.inbox.test"
AUTH_TOKEN = "drill-twilio-auth-token"
ACCOUNT_SID = "AC" + "d" * 32
TWILIO_TIMEOUT_SECONDS = 15.0  # Twilio gives up on a webhook after 15 s
SIGTERM_LIMIT_SECONDS = 30.0  # issue 14: SIGTERM stops the worker within 30 s
LIVE_TIMEOUT_SECONDS = 10.0
FINAL_STATUSES = {"sent", "delivered"}
# When, as a share of the load's duration, each process is stopped.
WORKER_KILL_AT, WEB_KILL_AT, WORKER_TERM_AT = 0.25, 0.45, 0.65
DROP_SHARE = 0.05  # the fake Twilio's create answers cut off after taking the message
_TAG = re.compile(r"\[(c\d+m\d+)\]")


@dataclass
class DrillConfig:
    contacts: int = 40
    per_contact: int = 3
    duration: float = 60.0  # seconds over which the messages are sent
    lost_ack_share: float = 0.1  # acknowledgements the senders treat as lost (and retry)
    burst: int = 8  # texts sent to web A at once just before it is killed
    drain_timeout: float = 90.0
    # "auto": Twilio against the fake API when the settings can point it there, else the
    # simulator; or "twilio" / "simulator" to insist.
    provider: str = "auto"
    seed: int | None = None
    keep: bool = False  # keep the run folder (logs) and print where


# -- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Proc:
    """One child process (its own process group), logging to a file; restartable."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = logs / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._log: IO[bytes] | None = None

    def start(self) -> None:
        self._log = self.log_path.open("ab")
        self._log.write(f"---- start {self.starts + 1}: {' '.join(self.argv)}\n".encode())
        self._log.flush()
        self.popen = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
        self.starts += 1

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, signum: int) -> None:
        if self.popen is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signum)

    def kill(self) -> None:
        """SIGKILL, as an out-of-memory kill or a lost machine would."""
        self.signal(signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait()

    async def terminate(self, limit: float) -> tuple[float, bool]:
        """SIGTERM and wait up to ``limit`` seconds; SIGKILL after that. Returns the seconds
        the stop took and whether it stopped on its own."""
        assert self.popen is not None
        started = time.monotonic()
        self.signal(signal.SIGTERM)
        while self.popen.poll() is None and time.monotonic() - started < limit:
            await asyncio.sleep(0.1)
        took = time.monotonic() - started
        if self.popen.poll() is None:
            self.kill()
            return took, False
        return took, True

    def stop(self) -> None:
        if self.alive:
            self.signal(signal.SIGINT)
            assert self.popen is not None
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


def temporal_argv(folder: Path, port: int) -> list[str]:
    """``temporal server start-dev`` as ``inbox dev`` runs it, headless, on ``port``."""
    argv = [
        str(find_temporal_binary()), "server", "start-dev",
        "--db-filename", str(folder / "temporal.db"),
        *SQLITE_PRAGMA_ARGS,
        "--ip", "127.0.0.1",
        "--port", str(port),
        "--headless",
        "--log-level", "warn",
    ]  # fmt: skip
    for name, kind in SEARCH_ATTRIBUTES.items():
        argv += ["--search-attribute", f"{name}={kind}"]
    return argv


async def wait_for_temporal(address: str, proc: Proc, timeout: float = 60.0) -> Any:
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
    from temporalio.client import Client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive:
            raise RuntimeError(f"the Temporal dev server exited:\n{proc.tail()}")
        try:
            client = await asyncio.wait_for(Client.connect(address), timeout=2)
            found = await client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace="default")
            )
            if set(SEARCH_ATTRIBUTES) <= set(found.custom_attributes):
                return client
        except Exception:  # not up yet
            pass
        await asyncio.sleep(0.3)
    raise RuntimeError(f"the Temporal dev server did not answer within {timeout:.0f} s")


async def wait_for_web(http: httpx.AsyncClient, base: str, proc: Proc, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive:
            raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if (await http.get(f"{base}/healthz", timeout=1)).status_code == 200:
                return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{proc.name} did not answer /healthz within {timeout:.0f} s")


async def wait_for_worker(proc: Proc, timeout: float = 60.0) -> None:
    """Until this start of the worker has logged that it runs on the task queue."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive:
            raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
        started = proc.log_text().rsplit("---- start", 1)[-1]
        if "worker on task queue" in started:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{proc.name} did not start within {timeout:.0f} s")


def cli(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def twilio_base_url_variable() -> str | None:
    """The environment variable that points the Twilio provider at another API address, if
    these settings have one (issue 14 item 8)."""
    from pydantic import AliasChoices

    from inbox.settings import Settings

    for name, info in Settings.model_fields.items():
        if name.startswith("twilio") and ("url" in name or "base" in name):
            alias = info.validation_alias
            if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
                return alias.choices[0]
            if isinstance(alias, str):
                return alias
            return f"INBOX_{name.upper()}"
    return None


# -- the load ----------------------------------------------------------------------------------


@dataclass
class Planned:
    """One inbound text the senders deliver."""

    sid: str
    tag: str
    from_number: str
    body: str
    due: float  # seconds after the load starts
    web: int  # which web process gets the first attempt
    lose_ack: bool  # treat the first 2xx as lost and send again
    burst: bool = False  # sent all at once to web A just before it is killed
    attempts: int = 0
    acknowledged: bool = False
    lost_acks: int = 0
    errors: list[str] = field(default_factory=list)


def plan(config: DrillConfig, rng: random.Random) -> list[Planned]:
    total = config.contacts * config.per_contact
    # The texts due when web A is killed go to it together, just before: requests in flight
    # (some stored, not answered) when the process dies.
    burst = range(int(WEB_KILL_AT * total), int(WEB_KILL_AT * total) + config.burst)
    messages = []
    for index in range(total):
        # Round robin over the contacts: each contact's texts are spread over the run.
        contact, nth = index % config.contacts, index // config.contacts
        tag = f"c{contact:03d}m{nth}"
        messages.append(
            Planned(
                sid=f"SM{uuid.uuid4().hex}",
                tag=tag,
                from_number=f"+1312555{1000 + contact:04d}",
                body=f"Hello from the drill [{tag}]",
                due=index * config.duration / total,
                web=0 if index in burst else index % 2,
                lose_ack=rng.random() < config.lost_ack_share,
                burst=index in burst,
            )
        )
    return messages


async def deliver(http: httpx.AsyncClient, bases: list[str], message: Planned) -> None:
    """Deliver one webhook as Twilio does: until a 2xx, retrying with a back-off; each retry
    goes to the next web process (a load balancer routes a new connection anew)."""
    params = {
        "MessageSid": message.sid,
        "SmsSid": message.sid,
        "AccountSid": ACCOUNT_SID,
        "From": message.from_number,
        "To": CHANNEL_NUMBER,
        "Body": message.body,
        "NumMedia": "0",
    }
    signature = compute_signature(AUTH_TOKEN, PUBLIC_URL + INBOUND_PATH, params)
    target, backoff = message.web, 0.5
    give_up = time.monotonic() + 120.0
    while time.monotonic() < give_up:
        message.attempts += 1
        try:
            response = await http.post(
                bases[target] + INBOUND_PATH,
                data=params,
                headers={SIGNATURE_HEADER: signature},
                timeout=TWILIO_TIMEOUT_SECONDS,
            )
            if 200 <= response.status_code < 300:
                if message.lose_ack and message.lost_acks == 0:
                    message.lost_acks += 1  # the answer "never reached Twilio": send again
                else:
                    message.acknowledged = True
                    return
            else:
                message.errors.append(f"HTTP {response.status_code}")
        except httpx.HTTPError as exc:
            message.errors.append(type(exc).__name__)
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, 4.0)
        target = (target + 1) % len(bases)


async def post_callbacks(
    http: httpx.AsyncClient, bases: list[str], twilio: FakeTwilio, done: asyncio.Event
) -> tuple[int, int]:
    """Post the fake Twilio's status callbacks, signed, alternating over the web processes,
    each until acknowledged (as Twilio retries them); returns (posted, acknowledged)."""
    posted = acknowledged = 0
    pending: set[asyncio.Task[bool]] = set()

    async def one(url: str, params: dict[str, str], web: int) -> bool:
        signature = compute_signature(AUTH_TOKEN, url, params)
        path = url.removeprefix(PUBLIC_URL)
        give_up, backoff = time.monotonic() + 120.0, 0.5
        while time.monotonic() < give_up:
            with contextlib.suppress(httpx.HTTPError):
                response = await http.post(
                    bases[web] + path,
                    data=params,
                    headers={SIGNATURE_HEADER: signature},
                    timeout=TWILIO_TIMEOUT_SECONDS,
                )
                if 200 <= response.status_code < 300:
                    return True
            await asyncio.sleep(backoff)
            backoff, web = min(backoff * 2, 4.0), (web + 1) % len(bases)
        return False

    while not (done.is_set() and twilio.callbacks.empty() and not pending):
        try:
            url, params = twilio.callbacks.get_nowait()
        except queue.Empty:
            finished = [task for task in pending if task.done()]
            for task in finished:
                pending.discard(task)
                acknowledged += task.result()
            await asyncio.sleep(0.05)
            continue
        posted += 1
        pending.add(asyncio.create_task(one(url, params, posted % len(bases))))
    return posted, acknowledged


# -- the live stream ---------------------------------------------------------------------------


class Agent:
    """The demo agent, signed in through the form; its cookie works on every web process
    (sessions live in the app database)."""

    def __init__(self) -> None:
        self.http = httpx.AsyncClient(timeout=10)

    async def sign_in(self, base: str) -> None:
        page = await self.http.get(f"{base}/login")
        token = _csrf(page.text)
        response = await self.http.post(
            f"{base}/login",
            data={"email": AGENT_EMAIL, "password": AGENT_PASSWORD, "csrf_token": token},
        )
        if response.status_code != 303:
            raise RuntimeError(f"sign-in failed: {response.status_code}")

    async def add_note(self, base: str, conversation_id: int, text: str) -> None:
        token = _csrf((await self.http.get(f"{base}/inbox")).text)
        response = await self.http.post(
            f"{base}/conversations/{conversation_id}/notes",
            data={"text": text},
            headers={"HX-Request": "true", "X-CSRF-Token": token},
        )
        if response.status_code != 200:
            raise RuntimeError(f"adding a note failed: {response.status_code}")

    @contextlib.asynccontextmanager
    async def stream(self, base: str) -> AsyncIterator[asyncio.Queue[str]]:
        """The live stream of a page on ``base``: a queue of the event names it receives."""
        events: asyncio.Queue[str] = asyncio.Queue()
        connected = asyncio.Event()

        async def read() -> None:
            async with self.http.stream("GET", f"{base}/live", timeout=None) as response:
                async for line in response.aiter_lines():
                    connected.set()
                    if line.startswith("event: "):
                        events.put_nowait(line.removeprefix("event: ").strip())

        task = asyncio.create_task(read())
        try:
            await asyncio.wait_for(connected.wait(), LIVE_TIMEOUT_SECONDS)
            yield events
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await task

    async def aclose(self) -> None:
        await self.http.aclose()


def _csrf(html: str) -> str:
    match = re.search(r'"X-CSRF-Token": "([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    if match is None:
        raise RuntimeError("the page has no CSRF token")
    return match.group(1)


async def live_check(agent: Agent, stream_base: str, change_base: str, conversation_id: int):
    """Seconds from a note added through ``change_base`` to its event on a page of
    ``stream_base``; None if it never came."""
    async with agent.stream(stream_base) as events:
        started = time.monotonic()
        await agent.add_note(change_base, conversation_id, "drill: seen across web processes?")
        wanted = f"conv-{conversation_id}"
        with contextlib.suppress(TimeoutError):
            while time.monotonic() - started < LIVE_TIMEOUT_SECONDS:
                remaining = LIVE_TIMEOUT_SECONDS - (time.monotonic() - started)
                if await asyncio.wait_for(events.get(), remaining) == wanted:
                    return time.monotonic() - started
    return None


# -- the figures -------------------------------------------------------------------------------


@dataclass
class Report:
    sent: int = 0
    attempts: int = 0
    lost_acks: int = 0
    acknowledged: int = 0
    stored: int = 0
    stored_rows: int = 0
    processed: int = 0
    workflow_count: int = 0  # messages_received summed over the conversations' workflows
    auto_replies: int = 0  # rows in the database
    auto_replies_sent: int = 0  # in a final status
    auto_replies_at_provider: int = 0
    auto_replies_delivered: int = 0  # delivered status applied (Twilio's callbacks)
    provider: str = ""
    provider_creates: int = 0  # create calls at the fake Twilio, retries included
    provider_dropped: int = 0  # of which the answer was cut off after the message was taken
    reconciliations: int = 0  # the provider's look-ups after an ambiguous create
    callbacks: tuple[int, int] = (0, 0)  # status callbacks posted, acknowledged
    duplicates: int = 0
    stuck_workflows: int = 0
    pending_signals: int = 0
    conversations: int = 0
    reply_latency: list[float] = field(default_factory=list)
    live: list[tuple[str, float | None]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def render(self) -> str:
        def quantile(q: float) -> str:
            if not self.reply_latency:
                return "-"
            ordered = sorted(self.reply_latency)
            return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))]:.1f} s"

        lines = [
            "drill figures",
            f"  sent                     {self.sent} messages ({self.attempts} webhook requests, "
            f"{self.lost_acks} acknowledgements treated as lost)",
            f"  acknowledged             {self.acknowledged}",
            f"  stored                   {self.stored} ({self.stored_rows} rows)",
            f"  processed by workflows   {self.processed} (workflows count "
            f"{self.workflow_count} received, over {self.conversations} conversations)",
            f"  auto-replies             {self.auto_replies} stored, {self.auto_replies_sent} "
            f"sent ({self.auto_replies_delivered} delivered), "
            f"{self.auto_replies_at_provider} at the provider",
            f"  provider                 {self.provider}"
            + (
                f": {self.provider_creates} create calls, {self.provider_dropped} answers cut "
                f"off, {self.reconciliations} reconciliation look-ups, {self.callbacks[0]} "
                f"status callbacks posted, {self.callbacks[1]} acknowledged"
                if self.provider == "twilio"
                else ""
            ),
            f"  duplicates               {self.duplicates}",
            f"  stuck workflows          {self.stuck_workflows} "
            f"({self.pending_signals} signals left in the outbox)",
            f"  inbound -> auto-reply    median {quantile(0.5)}, p95 {quantile(0.95)}, "
            f"max {quantile(1.0)}",
        ]
        for name, latency in self.live:
            seen = f"{latency:.2f} s" if latency is not None else "NOT SEEN"
            lines.append(f"  live update, {name:<14} {seen}")
        lines += [f"  event: {event}" for event in self.events]
        lines.append(f"  took {self.seconds:.0f} s")
        shown = self.problems[:25] + (
            [f"... and {len(self.problems) - 25} more"] if len(self.problems) > 25 else []
        )
        lines.append("PASSED" if self.ok else "FAILED:\n  " + "\n  ".join(shown))
        return "\n".join(lines)


async def conversation_counts(client: Any, conversation_ids: list[int]) -> dict[int, Any]:
    """Each conversation's workflow: (messages_received, idle), or the error asking it."""
    from inbox.contracts import ConversationState, conversation_workflow_id

    found: dict[int, Any] = {}
    for conversation_id in conversation_ids:
        handle = client.get_workflow_handle(conversation_workflow_id(conversation_id))
        try:
            state = await handle.query("state", result_type=ConversationState)
            idle = await handle.query("idle", result_type=bool)
            found[conversation_id] = (state.messages_received, idle)
        except Exception as exc:  # no workflow, or it failed: reported as stuck
            found[conversation_id] = exc
    return found


def database_figures(
    database_url: str, sids: set[str], twilio: FakeTwilio | None
) -> dict[str, Any]:
    from sqlalchemy import func, select

    from inbox.db import engine_for, make_session_factory
    from inbox.models import Message, PendingSignal, RuleRun, SimulatorMessage

    sessions = make_session_factory(engine_for(database_url))
    with sessions() as session:
        inbound = [
            row
            for row in session.execute(
                select(
                    Message.id,
                    Message.provider_message_id,
                    Message.conversation_id,
                    Message.created_at,
                ).where(Message.direction == "inbound")
            )
            if row.provider_message_id in sids
        ]
        by_conversation = Counter(
            row.conversation_id
            for row in session.execute(
                select(Message.conversation_id).where(Message.direction == "inbound")
            )
        )
        runs = Counter(
            session.scalars(
                select(RuleRun.trigger_key).where(
                    RuleRun.rule == RULE_NAME, RuleRun.outcome == "fired"
                )
            )
        )
        replies = list(
            session.execute(
                select(Message.body, Message.status, Message.sent_at).where(
                    Message.direction == "outbound", Message.automation == RULE_NAME
                )
            )
        )
        at_provider = (
            twilio.bodies()
            if twilio is not None
            else list(
                session.scalars(
                    select(SimulatorMessage.body).where(SimulatorMessage.direction == "outbound")
                )
            )
        )
        pending = session.scalar(select(func.count()).select_from(PendingSignal)) or 0
    return {
        "inbound": inbound,
        "by_conversation": by_conversation,
        "runs": runs,
        "replies": replies,
        "at_provider": at_provider,
        "pending": pending,
    }


def drained(figures: dict[str, Any], final: set[str]) -> bool:
    """Every stored drill message has its auto-reply in a ``final`` status; the outbox empty."""
    tags = {figures["tags"][row.provider_message_id] for row in figures["inbound"]}
    sent = Counter(
        match.group(1)
        for body, status, _ in figures["replies"]
        if status in final and (match := _TAG.search(body))
    )
    return figures["pending"] == 0 and all(sent[tag] >= 1 for tag in tags)


def assess(
    report: Report, messages: list[Planned], figures: dict[str, Any], workflows: dict[int, Any]
):
    by_sid = {m.sid: m for m in messages}
    report.sent = len(messages)
    report.attempts = sum(m.attempts for m in messages)
    report.lost_acks = sum(m.lost_acks for m in messages)
    report.acknowledged = sum(m.acknowledged for m in messages)
    inbound = figures["inbound"]
    stored_sids = Counter(row.provider_message_id for row in inbound)
    report.stored = len(stored_sids)
    report.stored_rows = len(inbound)
    duplicates = sum(count - 1 for count in stored_sids.values())

    runs = figures["runs"]
    report.processed = sum(1 for row in inbound if runs[f"msg-{row.id}"] >= 1)
    duplicates += sum(runs[f"msg-{row.id}"] - 1 for row in inbound if runs[f"msg-{row.id}"] > 1)

    reply_tags = Counter(
        m.group(1) for body, _, _ in figures["replies"] if (m := _TAG.search(body))
    )
    provider_tags = Counter(
        m.group(1)
        for body in figures["at_provider"]
        if body.startswith(REPLY_PREFIX) and (m := _TAG.search(body))
    )
    report.auto_replies = sum(reply_tags.values())
    report.auto_replies_sent = sum(
        1 for _, status, _ in figures["replies"] if status in FINAL_STATUSES
    )
    report.auto_replies_at_provider = sum(provider_tags.values())
    report.auto_replies_delivered = sum(
        1 for _, status, _ in figures["replies"] if status == "delivered"
    )
    duplicates += sum(n - 1 for n in reply_tags.values() if n > 1)
    duplicates += sum(n - 1 for n in provider_tags.values() if n > 1)

    stored_at = {by_sid[row.provider_message_id].tag: row.created_at for row in inbound}
    for body, _status, sent_at in figures["replies"]:
        match = _TAG.search(body)
        if match and sent_at is not None and match.group(1) in stored_at:
            report.reply_latency.append((sent_at - stored_at[match.group(1)]).total_seconds())

    # The workflows: each conversation's count of received messages must equal what is stored
    # (more would be a message processed twice), and each must be idle (nothing stuck).
    report.conversations = len({row.conversation_id for row in inbound})
    for conversation_id, found in workflows.items():
        expected = figures["by_conversation"][conversation_id]
        if isinstance(found, Exception):
            report.stuck_workflows += 1
            report.problems.append(
                f"conversation {conversation_id}: workflow not answering: {found}"
            )
            continue
        received, idle = found
        report.workflow_count += received
        if received > expected:
            duplicates += received - expected
            report.problems.append(
                f"conversation {conversation_id}: its workflow counted {received} received, "
                f"{expected} stored"
            )
        if received < expected or not idle:
            report.stuck_workflows += 1
            report.problems.append(
                f"conversation {conversation_id}: workflow at {received}/{expected} received, "
                f"{'idle' if idle else 'busy'}"
            )
    report.pending_signals = figures["pending"]
    report.duplicates = duplicates

    problems = report.problems
    if duplicates:
        problems.append(f"{duplicates} duplicates")
    if report.pending_signals:
        problems.append(f"{report.pending_signals} signals never left the outbox")
    for message in messages:
        stored = stored_sids[message.sid]
        if message.acknowledged and stored != 1:
            problems.append(f"{message.tag} acknowledged but stored {stored} times")
        if stored and provider_tags[message.tag] != 1:
            problems.append(f"{message.tag}: {provider_tags[message.tag]} auto-replies sent")
        if stored and reply_tags[message.tag] != 1:
            problems.append(f"{message.tag}: {reply_tags[message.tag]} auto-replies stored")
    for row in inbound:
        tag = by_sid[row.provider_message_id].tag
        if runs[f"msg-{row.id}"] != 1:
            problems.append(f"{tag}: processed {runs[f'msg-{row.id}']} times by its workflow")
    if report.acknowledged < report.sent:
        # Not a failure of the product by itself (Twilio gives up too), but this drill's
        # senders retry for two minutes: a message never acknowledged means a web process
        # stayed down or refused it.
        unacked = [m for m in messages if not m.acknowledged]
        problems.append(
            f"{len(unacked)} messages never acknowledged, e.g. {unacked[0].tag}: "
            f"{unacked[0].errors[-3:]}"
        )
    for name, latency in report.live:
        if latency is None:
            problems.append(f"live update {name}: web A's stream never saw the change on web B")


# -- the drill ---------------------------------------------------------------------------------


class Drill:
    def __init__(self, config: DrillConfig, folder: Path, database_url: str) -> None:
        self.config = config
        self.folder = folder
        self.database_url = database_url
        self.report = Report()
        self.t0 = time.monotonic()
        temporal_port = free_port()
        self.address = f"127.0.0.1:{temporal_port}"
        self.web_ports = [free_port(), free_port()]
        self.bases = [f"http://127.0.0.1:{port}" for port in self.web_ports]
        rules = folder / "rules"
        rules.mkdir()
        (rules / "drill.yaml").write_text(RULES_YAML)
        variable = twilio_base_url_variable()
        if config.provider == "twilio" and variable is None:
            raise RuntimeError("these settings cannot point the Twilio provider at a fake API")
        self.twilio: FakeTwilio | None = None
        if variable is not None and config.provider in ("auto", "twilio"):
            self.twilio = FakeTwilio(
                ACCOUNT_SID, AUTH_TOKEN, drop_share=DROP_SHARE, seed=config.seed
            ).start()
        self.report.provider = "twilio" if self.twilio else "simulator"
        self.env = {
            **os.environ,
            "INBOX_DATA_DIR": str(folder / "data"),
            "INBOX_DATABASE_URL": database_url,
            "INBOX_TEMPORAL_ADDRESS": self.address,
            "INBOX_SMS_PROVIDER": self.report.provider,
            "INBOX_PUBLIC_URL": PUBLIC_URL,
            "INBOX_RULES_DIR": str(rules),
            "INBOX_SECRET_KEY": "drill-secret-key-" + uuid.uuid4().hex,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "PYTHONUNBUFFERED": "1",
        }
        if self.twilio is not None and variable is not None:
            self.env[variable] = self.twilio.url
        logs = folder / "logs"
        logs.mkdir()
        self.temporal = Proc("temporal", temporal_argv(folder, temporal_port), self.env, logs)
        self.webs = [
            Proc(
                f"web-{name}",
                [cli("inbox"), "web"],
                {**self.env, "INBOX_WEB_PORT": str(port)},
                logs,
            )
            for name, port in zip("AB", self.web_ports, strict=True)
        ]
        self.workers = [
            Proc(f"worker-{n}", [cli("inbox"), "worker"], self.env, logs) for n in (1, 2)
        ]
        self.http = httpx.AsyncClient(limits=httpx.Limits(max_connections=64))
        self.web_killed_at: datetime | None = None

    def note(self, text: str) -> None:
        line = f"{time.monotonic() - self.t0:5.1f} s  {text}"
        self.report.events.append(line)
        print(f"drill: {line}", flush=True)

    @property
    def processes(self) -> list[Proc]:
        return [self.temporal, *self.workers, *self.webs]

    async def setup(self) -> Any:
        (self.folder / "data").mkdir()
        self.temporal.start()
        client = await wait_for_temporal(self.address, self.temporal)
        for command in (["migrate"], ["demo", "--no-workflows"]):
            subprocess.run(
                [cli("inbox"), *command], env=self.env, cwd=ROOT, check=True, capture_output=True
            )
        self._compliance_for_the_drill()
        for proc in [*self.workers, *self.webs]:
            proc.start()
        await asyncio.gather(
            *(wait_for_worker(w) for w in self.workers),
            *(
                wait_for_web(self.http, base, web)
                for base, web in zip(self.bases, self.webs, strict=True)
            ),
        )
        self.note("2 web and 2 worker processes up")
        return client

    def _compliance_for_the_drill(self) -> None:
        """No quiet hours (the drill runs at any hour) and no daily cap on automated texts
        (every text gets its auto-reply): the settings an admin would change on the page."""
        from inbox.db import engine_for, make_session_factory
        from inbox.models import ComplianceSettings

        with make_session_factory(engine_for(self.database_url))() as session:
            row = session.get(ComplianceSettings, 1) or ComplianceSettings(id=1)
            row.quiet_start, row.quiet_end = "00:00", "00:00"
            row.automated_per_day = 1000
            session.add(row)
            session.commit()

    def _a_demo_conversation(self) -> int:
        from sqlalchemy import select

        from inbox.db import engine_for, make_session_factory
        from inbox.models import Conversation, User

        with make_session_factory(engine_for(self.database_url))() as session:
            agent = session.scalars(select(User).where(User.email == AGENT_EMAIL)).one()
            found = session.scalars(
                select(Conversation.id)
                .where(Conversation.assignee_id == agent.id)
                .order_by(Conversation.id)
            ).first()
        if found is None:
            raise RuntimeError(f"the demo data assigns no conversation to {AGENT_EMAIL}")
        return found

    async def chaos(self, burst: list[Planned]) -> None:
        """Mid-load: SIGKILL worker 1 and web A (with ``burst`` in flight) and restart them;
        SIGTERM worker 2 and restart it."""
        d = self.config.duration
        await asyncio.sleep(WORKER_KILL_AT * d)
        self.workers[0].kill()
        self.note("worker-1 killed (SIGKILL)")
        await asyncio.sleep(3)
        self.workers[0].start()
        await wait_for_worker(self.workers[0])
        self.note("worker-1 restarted")

        await asyncio.sleep(max(0.0, WEB_KILL_AT * d - (time.monotonic() - self.load_t0)))
        in_flight = [asyncio.create_task(deliver(self.http, self.bases, m)) for m in burst]
        # Kill it as soon as the first of them is answered: the others are in flight (some
        # stored, not yet answered), the answered one's signal may still be in the outbox.
        answered_by = time.monotonic() + 2.0
        while time.monotonic() < answered_by and not any(
            m.acknowledged or m.lost_acks for m in burst
        ):
            await asyncio.sleep(0.002)
        self.webs[0].kill()
        self.web_killed_at = datetime.now(UTC)
        self.note(f"web-A killed (SIGKILL), {len(burst)} webhooks sent to it just before")
        await asyncio.sleep(3)
        self.webs[0].start()
        await wait_for_web(self.http, self.bases[0], self.webs[0])
        self.note("web-A restarted")

        await asyncio.gather(*in_flight)
        cut = sum(1 for m in burst if m.errors)
        acked = sum(m.acknowledged for m in burst)
        self.note(f"{cut} of those {len(burst)} cut off by the kill; {acked} acknowledged since")
        await asyncio.sleep(max(0.0, WORKER_TERM_AT * d - (time.monotonic() - self.load_t0)))
        took, clean = await self.workers[1].terminate(SIGTERM_LIMIT_SECONDS)
        if clean:
            self.note(f"worker-2 stopped by SIGTERM in {took:.1f} s")
        else:
            self.note(f"worker-2 did NOT stop within {took:.0f} s of SIGTERM; killed")
            self.report.problems.append(
                f"worker-2 did not stop within {SIGTERM_LIMIT_SECONDS:.0f} s of SIGTERM"
            )
        self.workers[1].start()
        await wait_for_worker(self.workers[1])
        self.note("worker-2 restarted")

    async def load(self, messages: list[Planned]) -> None:
        self.load_t0 = time.monotonic()

        async def one(message: Planned) -> None:
            await asyncio.sleep(max(0.0, message.due - (time.monotonic() - self.load_t0)))
            await deliver(self.http, self.bases, message)

        burst = [m for m in messages if m.burst]
        await asyncio.gather(self.chaos(burst), *(one(m) for m in messages if not m.burst))
        self.note(
            f"load done: {sum(m.acknowledged for m in messages)}/{len(messages)} acknowledged"
        )

    async def run(self) -> Report:
        rng = random.Random(self.config.seed)
        messages = plan(self.config, rng)
        client = await self.setup()
        agent = Agent()
        try:
            await agent.sign_in(self.bases[0])
            conversation_id = self._a_demo_conversation()
            latency = await live_check(agent, self.bases[0], self.bases[1], conversation_id)
            self.report.live.append(("before load", latency))
            callbacks_done = asyncio.Event()
            callbacks = (
                asyncio.create_task(
                    post_callbacks(self.http, self.bases, self.twilio, callbacks_done)
                )
                if self.twilio is not None
                else None
            )
            await self.load(messages)
            latency = await live_check(agent, self.bases[0], self.bases[1], conversation_id)
            self.report.live.append(("after restarts", latency))
            # With Twilio, an auto-reply is done when its delivered callback has been applied.
            final = {"delivered"} if self.twilio is not None else FINAL_STATUSES
            figures = await self.drain(
                {m.sid for m in messages}, {m.sid: m.tag for m in messages}, final
            )
            callbacks_done.set()
            self._note_stored_before_the_kill(figures, [m for m in messages if m.burst])
            if callbacks is not None and self.twilio is not None:
                self.report.callbacks = await callbacks
                self.report.provider_creates = self.twilio.creates
                self.report.provider_dropped = self.twilio.dropped
                self.report.reconciliations = self.twilio.lists
            conversation_ids = sorted({row.conversation_id for row in figures["inbound"]})
            workflows = await self._settled_workflows(client, conversation_ids)
            assess(self.report, messages, figures, workflows)
        finally:
            await agent.aclose()
        return self.report

    async def drain(self, sids: set[str], tags: dict[str, str], final: set[str]) -> dict[str, Any]:
        """Wait until every stored message has its auto-reply in a ``final`` status (or the
        drain timeout)."""
        deadline = time.monotonic() + self.config.drain_timeout
        while True:
            figures = await asyncio.to_thread(
                database_figures, self.database_url, sids, self.twilio
            )
            figures["tags"] = tags
            if drained(figures, final):
                self.note(
                    f"drained: every stored message has its auto-reply {'/'.join(sorted(final))}"
                )
                return figures
            if time.monotonic() > deadline:
                self.note(f"NOT drained after {self.config.drain_timeout:.0f} s")
                stuck = sum(1 for _, status, _ in figures["replies"] if status not in final)
                self.report.problems.append(
                    f"{stuck} auto-replies not {'/'.join(sorted(final))} "
                    f"{self.config.drain_timeout:.0f} s after the load"
                )
                return figures
            await asyncio.sleep(1)

    def _note_stored_before_the_kill(self, figures: dict[str, Any], burst: list[Planned]) -> None:
        """How many texts web A had stored, but not answered, when it was killed: Twilio's
        retry of those must find them stored (and their signals must leave the outbox)."""
        killed = self.web_killed_at
        if killed is None:
            return
        cut = {m.sid for m in burst if m.errors}
        stored_first = sum(
            1
            for row in figures["inbound"]
            if row.provider_message_id in cut and _aware(row.created_at) <= killed
        )
        self.note(f"{stored_first} of the texts cut off at web A's kill were stored by it first")

    async def _settled_workflows(self, client: Any, conversation_ids: list[int]) -> dict[int, Any]:
        """The workflows' counts, asked again for a few seconds while any is still busy (an
        auto-reply's own message_sent event may still be on its way)."""
        deadline = time.monotonic() + 15
        while True:
            found = await conversation_counts(client, conversation_ids)
            if time.monotonic() > deadline or all(
                not isinstance(v, Exception) and v[1] for v in found.values()
            ):
                return found
            await asyncio.sleep(0.5)

    async def close(self) -> None:
        await self.http.aclose()
        for proc in [*self.webs, *self.workers, self.temporal]:
            proc.stop()
        if self.twilio is not None:
            self.twilio.stop()


def _aware(at: datetime) -> datetime:
    # SQLAlchemy hands back aware datetimes on PostgreSQL; be safe with naive (UTC) ones.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


async def run_drill(config: DrillConfig | None = None) -> Report:
    """Run the drill once; the report says whether it passed (``report.ok``)."""
    config = config or DrillConfig()
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="inbox-drill-"))
    drill: Drill | None = None
    try:
        with postgres_database("inbox_drill") as database_url:
            drill = Drill(config, folder, database_url)
            try:
                report = await drill.run()
            except Exception as exc:
                drill.report.problems.append(f"the drill could not run: {exc!r}")
                report = drill.report
            finally:
                await drill.close()
    finally:
        if drill is not None and not drill.report.ok:
            for proc in drill.processes:
                print(f"---- last lines of {proc.name}.log\n{proc.tail(15)}")
        if config.keep or (drill is not None and not drill.report.ok):
            print(f"drill: logs kept in {folder / 'logs'}")
        else:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
    report.seconds = time.monotonic() - started
    return report


def parse_args(argv: list[str] | None = None) -> DrillConfig:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--contacts", type=int, default=40)
    parser.add_argument("--per-contact", type=int, default=3)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--lost-ack-share", type=float, default=0.1)
    parser.add_argument("--burst", type=int, default=8, help="texts in flight at web A's kill")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--provider", choices=["auto", "twilio", "simulator"], default="auto")
    parser.add_argument("--keep", action="store_true", help="keep the logs folder")
    args = parser.parse_args(argv)
    return DrillConfig(
        contacts=args.contacts,
        per_contact=args.per_contact,
        duration=args.duration,
        lost_ack_share=args.lost_ack_share,
        burst=args.burst,
        seed=args.seed,
        keep=args.keep,
        provider=args.provider,
    )


def main(argv: list[str] | None = None) -> int:
    report = asyncio.run(run_drill(parse_args(argv)))
    print(report.render())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
