"""Server time of the inbox views on a big database, against the bare SQL they issue.

Fills a database (a SQLite file, and/or a PostgreSQL database created on the server in
``--postgres-url`` and dropped afterwards) with ``--conversations`` conversations and
``--messages`` messages (bulk: ``executemany`` on SQLite, ``COPY`` on PostgreSQL, with the search
index built once after the load), signs in an agent, then for each view:

1. **route** — N requests through the real app (``create_app`` behind Starlette's TestClient),
   timing the ASGI call itself (server time: routing, auth, queries, ORM, templates);
2. **bare SQL** — the statements that route issued in its last request, captured with a
   ``before_cursor_execute`` listener and re-run N times on a raw DBAPI connection (execute and
   fetch every row, commit), in the same run.

Prints view, route p50 and p95, the server's CPU time per request (p50: it holds across
machines where wall time follows the neighbours' load), bare SQL p50, and the ratio. Targets:
route p50 < 100 ms and within 2x the bare SQL. ``docs/performance.md`` (## Views) keeps the
figures.

The reports (``docs/reports.md``) are measured signed in as a manager (the page) and with a
read-only API key (the API), per agent over 30 and 365 days up to the data's last day, on
reporting facts generated from the same messages as the store step writes them (one per
message, opening, first response, reply and close: 1.5 million for the defaults) and their daily
roll-up filled as its migration fills it. Target: p50 < 150 ms on both databases.

The first row, "Framework floor", is the cheapest authenticated request through the same app
stack: a route added for the run that does the sign-in check (signed cookie, user lookup) and
returns an empty page. No query change removes that part of a screen's time.

Usage: ``python bench/views.py [--conversations 100000] [--messages 1000000]
[--backend sqlite|postgresql|both] [--requests 50] [--only TEXT]
[--sqlite-file PATH] [--postgres-database NAME]``. With ``--sqlite-file`` or
``--postgres-database`` an existing database is reused as it is (not loaded again, not
dropped); a missing one is created, loaded and kept, so later runs skip the load.
"""

from __future__ import annotations

import argparse
import gc
import io
import itertools
import json
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import Response
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.app import create_app
from inbox.db import _engines, engine_for
from inbox.models import ApiKeyAccess, Base
from inbox.passwords import hash_password
from inbox.reporting import days
from inbox.search_index import create_search_index, drop_search_index
from inbox.services.api_keys import create_api_key
from inbox.settings import Settings
from web.auth import CurrentUser

PASSWORD = "bench password 1"
INBOXES = 4
AGENTS = 10
MANAGER = AGENTS + 1  # signs in for the reports: a manager sees every agent's figures
MANAGER_EMAIL = "manager@example.com"
RARE_WORD = "parcel"  # in one message in 2,000: a realistic "find that message" search
rng = random.Random(42)


# Words of random letters drawn with English letter frequencies, used with a Zipf
# distribution, so the trigram index sees a realistic mix of common and rare trigrams.
LETTERS = "etaoinshrdlcumwfgypbvkjxqz"
LETTER_WEIGHTS = [127, 91, 82, 75, 70, 67, 63, 61, 60, 43, 40, 28, 28, 24, 24, 22, 20, 20, 19,
                  15, 10, 8, 2, 2, 1, 1]  # fmt: skip


def _words(count: int, lengths: tuple[int, int]) -> list[str]:
    return [
        "".join(rng.choices(LETTERS, LETTER_WEIGHTS, k=rng.randint(*lengths))) for _ in range(count)
    ]


VOCABULARY = _words(5000, (2, 9))
ZIPF = list(itertools.accumulate(1 / rank for rank in range(1, len(VOCABULARY) + 1)))
COMMON_WORD = next(w for w in VOCABULARY[10:] if len(w) >= 5)  # in about one message in 20
FIRST_NAMES = [w.capitalize() for w in _words(300, (3, 7))]
LAST_NAMES = [w.capitalize() for w in _words(2000, (4, 9))]


# --- filling the database ---------------------------------------------------------------------


@dataclass
class Fill:
    """Generated rows per table, as (columns, rows), plus what the measurements need."""

    tables: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = field(default_factory=dict)
    agent_id: int = 1
    open_conversation_id: int = 0
    search_name: str = ""
    search_number: str = ""
    last_day: date = field(default_factory=lambda: datetime.now(UTC).date())


def contact_number(i: int) -> str:
    return f"+120{i:08d}"


def generate(conversations: int, messages: int) -> Fill:
    """Rows for every table, ids assigned here so the bulk load needs no RETURNING."""
    fill = Fill()
    base = datetime.now(UTC) - timedelta(days=400)
    pw = hash_password(PASSWORD)
    users = [
        (n, f"agent{n}@example.com", f"Agent {n}", pw, "agent", True, True, "{}", base)
        for n in range(1, AGENTS + 1)
    ]
    users.append((MANAGER, MANAGER_EMAIL, "Bench Manager", pw, "manager", True, True, "{}", base))
    fill.tables["users"] = (
        [
            "id",
            "email",
            "name",
            "password_hash",
            "role",
            "is_active",
            "notifications_enabled",
            "preferences",
            "created_at",
        ],
        users,
    )
    fill.tables["inboxes"] = (
        ["id", "name", "business_hours", "timezone", "created_at"],
        [(n, f"Inbox {n}", "{}", "UTC", base) for n in range(1, INBOXES + 1)],
    )
    # The agent measured belongs to every inbox but the last: visibility is a real filter.
    members = [(n, 1) for n in range(1, INBOXES)]
    members += [(n, u) for n in range(1, INBOXES + 1) for u in range(2, AGENTS + 1)]
    fill.tables["inbox_members"] = (["inbox_id", "user_id"], members)
    fill.tables["channels"] = (
        ["id", "name", "type", "number", "default_inbox_id", "consent_replies", "opt_out_reply",
         "opt_in_reply", "help_reply", "created_at"],
        [(n, f"Line {n}", "sms", f"+1415555{n:04d}", n, "app", "", "", "", base)
         for n in range(1, INBOXES + 1)],
    )  # fmt: skip
    contacts, numbers, convs, msgs, events, reads = [], [], [], [], [], []
    facts: list[tuple[Any, ...]] = []
    per_conversation = messages / conversations
    message_id = 0
    for i in range(1, conversations + 1):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        created = base + timedelta(seconds=i * 300)
        contacts.append((i, name, "{}", False, created, created))
        numbers.append((i, i, contact_number(i), "mobile"))
        inbox = rng.randint(1, INBOXES)
        roll = rng.random()
        status = "open" if roll < 0.7 else "closed" if roll < 0.95 else "spam"
        assignee = None if rng.random() < 0.3 else rng.randint(1, AGENTS)
        count = max(1, round(rng.uniform(0, 2 * per_conversation)))
        count = min(count, messages - message_id) if i == conversations else count
        last = created
        last_body = ""
        first_id = message_id + 1
        for j in range(count):
            if message_id >= messages:
                break
            message_id += 1
            inbound = j % 2 == 0
            body = " ".join(rng.choices(VOCABULARY, cum_weights=ZIPF, k=rng.randint(4, 14)))
            if rng.random() < 1 / 2000:
                body += f" {RARE_WORD}"
            last = created + timedelta(minutes=j * rng.randint(1, 600))
            last_body = body
            msgs.append((
                message_id, i, i, inbox, "inbound" if inbound else "outbound", body, "[]",
                contact_number(i) if inbound else f"+1415555{inbox:04d}",
                f"+1415555{inbox:04d}" if inbound else contact_number(i),
                None if inbound else assignee, False, "simulator", f"SM{message_id}",
                "received" if inbound else "delivered", 0, last,
            ))  # fmt: skip
        facts += _facts(i, inbox, assignee, status, msgs[first_id - 1 :], len(facts))
        convs.append((
            i, i, inbox, inbox, contact_number(i), assignee, status, "{}", _tags(i), created, last,
            last_body[:200], created,
        ))  # fmt: skip
        events.append((i, i, i, "conversation_started", "Conversation started", "{}", created,
                       created))  # fmt: skip
        if assignee == 1 and rng.random() < 0.5 and message_id >= first_id:
            reads.append((1, i, message_id, False, last))
        if assignee == 1 and status == "open":
            fill.open_conversation_id = i
    fill.tables["contacts"] = (
        ["id", "name", "fields", "opted_out", "created_at", "updated_at"],
        contacts,
    )
    fill.tables["contact_numbers"] = (["id", "contact_id", "number", "label"], numbers)
    fill.tables["conversations"] = (
        ["id", "contact_id", "channel_id", "inbox_id", "contact_number", "assignee_id", "status",
         "fields", "tags", "created_at", "last_message_at", "last_message_preview",
         "first_inbound_at"],
        convs,
    )  # fmt: skip
    fill.tables["messages"] = (
        ["id", "conversation_id", "contact_id", "channel_id", "direction", "body", "media",
         "from_number", "to_number", "author_id", "automated", "provider", "provider_message_id",
         "status", "send_attempts", "created_at", "purpose"],
        [(*row, "") for row in msgs],
    )  # fmt: skip
    fill.tables["contact_events"] = (
        ["id", "contact_id", "conversation_id", "kind", "summary", "data", "occurred_at",
         "created_at"],
        events,
    )  # fmt: skip
    fill.tables["conversation_reads"] = (
        ["user_id", "conversation_id", "last_read_message_id", "marked_unread", "read_at"],
        reads,
    )
    fill.tables["report_facts"] = (
        ["id", "conversation_id", "kind", "event_key", "at", "inbox_id", "assignee_id",
         "channel_id", "seconds", "business_seconds"],
        facts,
    )  # fmt: skip
    fill.last_day = max(row[4] for row in facts).date() if facts else base.date()
    fill.search_name = contacts[len(contacts) // 2][1].split()[1]
    fill.search_number = contact_number(conversations // 3)[-7:]
    return fill


def _facts(
    conversation: int,
    inbox: int,
    assignee: int | None,
    status: str,
    messages: list[tuple[Any, ...]],
    first_id: int,
) -> list[tuple[Any, ...]]:
    """The reporting facts the conversation's messages imply, as the store step writes them:
    each message in or out; opened at the first; per reply, its wait since the oldest message
    not answered yet (the first one also its first response); a close an hour after the last
    message for a closed one. Inboxes have no hours: business seconds are the seconds."""
    found: list[tuple[Any, ...]] = []
    if not messages:
        return found

    def fact(kind: str, key: str, at: datetime, seconds: int | None = None) -> None:
        found.append((first_id + len(found) + 1, conversation, kind, key, at, inbox, assignee,
                      inbox, seconds, seconds))  # fmt: skip

    timeline = sorted((row[-1], row[4] == "inbound", row[0]) for row in messages)
    fact("opened", "opened", timeline[0][0])
    waiting: datetime | None = None
    answered = False
    for at, inbound, message_id in timeline:
        fact("message_in" if inbound else "message_out", str(message_id), at)
        if inbound:
            waiting = waiting or at
        elif waiting is not None:
            seconds = int((at - waiting).total_seconds())
            if not answered:
                fact("first_response", "first_response", at, seconds)
                answered = True
            fact("reply", at.isoformat(), at, seconds)
            waiting = None
    if status == "closed":
        closed = timeline[-1][0] + timedelta(hours=1)
        fact("closed", closed.isoformat(), closed, int((closed - timeline[0][0]).total_seconds()))
    return found


def _tags(i: int) -> str:
    """Tags by a fixed rule (not the random generator, so the other rows stay as they were): a
    common tag on 10 % of the conversations, a rare one on about 0.1 %."""
    if i % 997 == 0:
        return '["wholesale"]'
    return '["vip"]' if i % 10 == 0 else "[]"


def _sqlite_value(value: Any) -> Any:
    # The form SQLAlchemy's DateTime stores on SQLite (naive UTC text).
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def load(engine: Engine, fill: Fill) -> None:
    """Create the schema and bulk-load the rows; build the search index once, at the end."""
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        drop_search_index(conn)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for table, (columns, rows) in fill.tables.items():
            names = ", ".join(columns)
            if engine.dialect.name == "sqlite":
                marks = ", ".join("?" for _ in columns)
                cursor.executemany(
                    f"INSERT INTO {table} ({names}) VALUES ({marks})",
                    [[_sqlite_value(v) for v in row] for row in rows],
                )
            else:
                with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        if engine.dialect.name == "postgresql":
            for table, (columns, _rows) in fill.tables.items():
                if "id" in columns:
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as conn:
        create_search_index(conn)
        start = time.perf_counter()
        days.fill(conn)  # as the migration that adds the roll-up fills it
        print(f"  report_days filled from {len(fill.tables['report_facts'][1]):,} facts in "
              f"{time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)  # fmt: skip
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


# --- measuring --------------------------------------------------------------------------------


class TimedApp:
    """Wraps the ASGI app to time each request inside the server (no client overhead)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last = 0.0
        self.cpu = 0.0  # the process's CPU time over the same call (the client only waits)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            await self.app(scope, receive, send)
        finally:
            self.last = time.perf_counter() - start
            self.cpu = time.process_time() - cpu


class Capture:
    """Records the statements an engine sends while ``on`` is set."""

    def __init__(self, engine: Engine) -> None:
        self.on = False
        self.statements: list[tuple[str, Any, bool]] = []
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(
        self, _c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, many: bool
    ) -> None:
        if self.on:
            self.statements.append((statement, params, many))


def replay(engine: Engine, statements: list[tuple[str, Any, bool]]) -> float:
    """Run the statements on a raw DBAPI connection, fetching every row; seconds taken."""
    raw = engine.raw_connection()
    try:
        start = time.perf_counter()
        cursor = raw.cursor()
        for statement, params, many in statements:
            if many:
                cursor.executemany(statement, params)
            else:
                cursor.execute(statement, params)
            if cursor.description:
                cursor.fetchall()
        raw.commit()
        return time.perf_counter() - start
    finally:
        raw.close()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(
        r'"X-CSRF-Token": "([^"]+)"', html
    )
    if not match:
        raise RuntimeError("the sign-in page has no CSRF token")
    return match.group(1)


FLOOR_URL = "/bench/floor"


def floor(user: CurrentUser) -> Response:
    """The framework floor: routing, the session, the sign-in check, an empty page."""
    return Response(f"<p>{user.id}</p>", media_type="text/html")


def views(fill: Fill) -> list[tuple[str, str]]:
    """(label, URL) for every screen measured; the list panel is what htmx asks for."""
    return [
        ("Framework floor", FLOOR_URL),
        ("All open", "/inbox/list?view=all"),
        ("My open", "/inbox/list?view=mine"),
        ("My unread", "/inbox/list?view=unread"),
        ("Unassigned", "/inbox/list?view=unassigned"),
        ("Closed", "/inbox/list?view=closed"),
        ("Spam", "/inbox/list?view=spam"),
        ("All open, order added", "/inbox/list?view=all&sort=added"),
        ("All open, inbox filter", "/inbox/list?view=all&inbox=2"),
        ("All open, common tag (10 %)", "/inbox/list?view=all&tag=vip"),
        ("All open, rare tag (0.1 %)", "/inbox/list?view=all&tag=wholesale"),
        ("All open, search tag:vip", "/inbox/list?view=all&q=tag:vip"),
        ("Closed, order added, inbox", "/inbox/list?view=closed&sort=added&inbox=2"),
        (f"Search text '{RARE_WORD}'", f"/inbox/list?view=all&q={RARE_WORD}"),
        (f"Search name '{fill.search_name}'", f"/inbox/list?view=all&q={fill.search_name}"),
        (f"Search number '{fill.search_number}'", f"/inbox/list?view=all&q={fill.search_number}"),
        (f"Search common word '{COMMON_WORD}'", f"/inbox/list?view=all&q={COMMON_WORD}"),
        ("Search, Closed view", f"/inbox/list?view=closed&q={RARE_WORD}"),
        ("List view page", "/list?view=all"),
        ("Card view", "/cards"),
        ("Open conversation", f"/inbox/{fill.open_conversation_id}"),
        ("Full inbox page", "/inbox"),
    ]


def report_views(fill: Fill) -> list[tuple[str, str, str]]:
    """(label, URL, who) of the reports measured: the page signed in as a manager, the API
    with a key; per agent over the 30 days up to the data's last day (per day) and the 365
    (per week, and per day through the API: 3,650 rows)."""
    today = fill.last_day
    month = f"from={today - timedelta(days=29)}&to={today}&by=agent"
    year = f"from={today - timedelta(days=364)}&to={today}&by=agent"
    return [
        ("Reports page, 30 days per agent per day", f"/reports?{month}&group=day", "manager"),
        ("Reports page, 365 days per agent per week", f"/reports?{year}&group=week", "manager"),
        (
            "Reports page, 365 days, business hours",
            f"/reports?{year}&group=week&hours=business",
            "manager",
        ),
        (
            "Reports page, 30 days per tag per day (the facts)",
            f"/reports?{month.replace('by=agent', 'by=tag')}&group=day",
            "manager",
        ),
        ("Reports API, 30 days per agent per day", f"/api/v1/reports?{month}&group=day", "api"),
        ("Reports API, 365 days per agent per week", f"/api/v1/reports?{year}&group=week", "api"),
        ("Reports API, 365 days per agent per day", f"/api/v1/reports?{year}&group=day", "api"),
    ]


@dataclass
class Row:
    view: str
    p50: float
    p95: float
    sql_p50: float
    queries: int
    cpu_p50: float = 0.0  # the server process's CPU time per request


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(database_url: str, fill: Fill, requests: int, only: str = "") -> list[Row]:
    """Time every view (or those whose label contains ``only``) through the app and as bare
    SQL."""
    settings = Settings(database_url=database_url, relay_interval_seconds=3600)
    app = create_app(settings, temporal_client=object())  # type: ignore[arg-type]
    app.add_api_route(FLOOR_URL, floor, methods=["GET"])
    timed = TimedApp(app)
    engine = engine_for(database_url)
    capture = Capture(engine)
    rows: list[Row] = []
    with engine.begin() as conn, Session(bind=conn) as session:
        _, key = create_api_key(session, name="bench", access=ApiKeyAccess.READ)
        session.commit()
    screens = [(label, url, "agent") for label, url in views(fill)] + report_views(fill)
    with TestClient(timed) as client, TestClient(timed) as manager, TestClient(timed) as api:
        for signed_in, email in ((client, "agent1@example.com"), (manager, MANAGER_EMAIL)):
            login = signed_in.get("/login")
            form = {"email": email, "password": PASSWORD}
            signed_in.post("/login", data={**form, "csrf_token": csrf_of(login.text)})
        api.headers["Authorization"] = f"Bearer {key}"
        for label, url, who in screens:
            if only.lower() not in label.lower() and label != "Framework floor":
                continue
            headers = {} if label == "Full inbox page" or who != "agent" else {"HX-Request": "true"}
            client = {"agent": client, "manager": manager, "api": api}[who]
            route: list[float] = []
            cpu: list[float] = []
            for n in range(requests + 3):  # three warm-up requests
                capture.on, capture.statements = n == requests + 2, []
                response = client.get(url, headers=headers)
                capture.on = False
                if response.status_code != 200:
                    raise RuntimeError(f"{url}: HTTP {response.status_code}")
                if n >= 3:
                    route.append(timed.last)
                    cpu.append(timed.cpu)
            statements = list(capture.statements)
            bare = [replay(engine, statements) for _ in range(requests)]
            rows.append(
                Row(label, statistics.median(route), percentile(route, 0.95),
                    statistics.median(bare), len(statements), statistics.median(cpu))
            )  # fmt: skip
            print(f"  {label}: {rows[-1].p50 * 1000:.1f} ms", file=sys.stderr, flush=True)
    return rows


# --- backends ---------------------------------------------------------------------------------


@contextmanager
def sqlite_database(path: Path) -> Iterator[str]:
    yield f"sqlite:///{path}"


@contextmanager
def postgres_database(server: str, keep: str | None) -> Iterator[str]:
    """A database on ``server``: ``keep`` if given (created when missing, never dropped),
    else one of this run's own, dropped afterwards."""
    name = keep or f"inbox_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        f"{server}/postgres".replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{server}/{name}"
    try:
        yield url
    finally:
        engine = _engines.pop(url, None)
        if engine is not None:
            engine.dispose()
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_backend(
    name: str,
    database: Callable[[], AbstractContextManager[str]],
    fill: Fill,
    requests: int,
    only: str,
) -> list[Row]:
    """Load one backend (unless it holds the conversations already) and measure it."""
    with database() as url:
        engine = engine_for(url)
        if inspect(engine).has_table("conversations"):
            print(f"{name}: reusing the database as it is", file=sys.stderr, flush=True)
        else:
            start = time.perf_counter()
            load(engine, fill)
            seconds = time.perf_counter() - start
            print(f"{name}: loaded in {seconds:.0f} s", file=sys.stderr, flush=True)
        return measure(url, fill, requests, only)


def table(name: str, rows: list[Row]) -> str:
    out = io.StringIO()
    out.write(f"\n{name}\n\n| View | p50 ms | p95 ms | CPU p50 ms | bare SQL p50 ms | ratio |"
              " queries |\n|---|---:|---:|---:|---:|---:|---:|\n")  # fmt: skip
    for row in rows:
        ratio = row.p50 / row.sql_p50 if row.sql_p50 else float("inf")
        out.write(
            f"| {row.view} | {row.p50 * 1000:.1f} | {row.p95 * 1000:.1f} | "
            f"{row.cpu_p50 * 1000:.1f} | {row.sql_p50 * 1000:.1f} | {ratio:.1f}x | "
            f"{row.queries} |\n"
        )
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--only", default="", help="measure only screens whose label has this")
    parser.add_argument("--sqlite-file", type=Path, help="reuse (or fill and keep) this file")
    parser.add_argument("--postgres-database", help="reuse (or fill and keep) this database")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    fill = generate(args.conversations, args.messages)
    print(f"generated in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    # The generated rows (millions of tuples) stay in memory for the load; kept out of the
    # collector's scans, so a full collection while a view is timed costs what it would in a
    # server, which holds no such heap.
    gc.collect()
    gc.freeze()
    results: dict[str, list[Row]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_file = args.sqlite_file or Path(tmp) / "bench.db"
        if args.backend in ("sqlite", "both"):
            results["SQLite"] = run_backend(
                "SQLite", lambda: sqlite_database(sqlite_file), fill, args.requests, args.only
            )
        if args.backend in ("postgresql", "both"):
            results["PostgreSQL"] = run_backend(
                "PostgreSQL",
                lambda: postgres_database(args.postgres_url, args.postgres_database),
                fill,
                args.requests,
                args.only,
            )
    print(f"{args.conversations:,} conversations, {args.messages:,} messages, "
          f"{args.requests} requests per view")  # fmt: skip
    for name, rows in results.items():
        print(table(name, rows))
    if args.json:
        args.json.write_text(json.dumps({k: [vars(r) for r in v] for k, v in results.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
