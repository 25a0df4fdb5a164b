"""The daily roll-up of the reporting table (``report_days``): each fact, when it is first
stored, adds itself to the row of its UTC day, inbox, assignee and channel, a counter for a
count, its seconds appended to a list for a time figure. Reports per inbox, agent or channel
read these rows (a few per day) instead of every fact, and stay exact: the lists keep every
value, so a median over any range is the median of the values, not of daily medians.

Two writers: :func:`add` (called by ``facts.record`` for a fact it inserted, never for a
duplicate, so a retried event still counts once) and :func:`fill` (every stored fact at once:
the migration that adds the table, and the benchmark's bulk load)."""

from __future__ import annotations

import sys
from array import array
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy import ColumnElement, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from inbox.models import ReportDay
from inbox.reporting.kinds import FactKind

# A fact's kind → the counter it adds one to, and → the list its seconds join.
COUNTERS = {
    FactKind.OPENED: "opened",
    FactKind.CLOSED: "closed",
    FactKind.REOPENED: "reopened",
    FactKind.MESSAGE_IN: "messages_in",
    FactKind.MESSAGE_OUT: "messages_out",
    FactKind.SLA_MET: "sla_met",
    FactKind.SLA_BREACHED: "sla_breached",
}
TIMED = {FactKind.FIRST_RESPONSE: "first_response", FactKind.CLOSED: "close",
         FactKind.REPLY: "reply"}  # fmt: skip
BUSINESS = "_business"  # the list of the same seconds within the inbox's open hours
KEYS = ("day", "inbox_id", "assignee_id", "channel_id")
NONE = 0  # no inbox, unassigned, no channel: a key column may not be NULL (NULLs never conflict)


def key(value: int | None) -> int:
    return NONE if value is None else value


# A list is its values one after another as 8 hex digits each (``"00000078000001c8"``: 120
# and 456 seconds): text, so both databases append to it with ``||``, and fixed width, so it
# is read back in C (``bytes.fromhex`` into an array of 32-bit unsigned ints) where decimal
# text took Python ``int`` or ``json`` per value, most of a year's report (600,000 values).
WIDTH = 8
MAX_SECONDS = 0xFFFFFFFF  # 136 years
_ITEM = "I"
assert array(_ITEM).itemsize == WIDTH // 2


def encode(seconds: int) -> str:
    """One value of a list. A wait is never negative nor over a century; clamped, so a clock
    skew cannot make a list unreadable."""
    return f"{min(max(seconds, 0), MAX_SECONDS):08x}"


def seconds_of(text: str) -> array[int]:
    """The seconds of a stored list (``"00000078000001c8"`` → ``array('I', [120, 456])``;
    an array, not a list: sorting it makes the one list of Python ints the figures need)."""
    values = array(_ITEM, bytes.fromhex(text))
    if sys.byteorder == "little":  # the hex digits are big-endian
        values.byteswap()
    return values


def joined(dialect: str, lists: ColumnElement[Any]) -> ColumnElement[str]:
    """The lists of a group of rows as one (the aggregate each database names its own way)."""
    if dialect == "postgresql":
        return func.string_agg(lists, "")
    return func.group_concat(lists, "")


def week_of(dialect: str, day: ColumnElement[date]) -> ColumnElement[date]:
    """The Monday of ``day``'s ISO week (``figures.period_of`` in SQL)."""
    if dialect == "postgresql":
        return sa.cast(func.date_trunc("week", day), sa.Date)
    # Back six days, then on to the next Monday (or stay on one).
    return sa.type_coerce(func.date(day, "-6 days", "weekday 1"), sa.Date)


def add(
    session: Session,
    *,
    kind: FactKind,
    day: date,
    inbox_id: int | None,
    assignee_id: int | None,
    channel_id: int | None,
    seconds: int | None,
    business_seconds: int | None,
) -> None:
    """Add one newly stored fact to its day's row (created when it is the day's first)."""
    added: dict[str, Any] = {}
    if kind in COUNTERS:
        added[COUNTERS[kind]] = 1
    if kind in TIMED and seconds is not None:
        plain = TIMED[kind]
        added[plain] = encode(seconds)
        added[plain + BUSINESS] = encode(seconds if business_seconds is None else business_seconds)
    if not added:
        return
    keys = {"day": day, "inbox_id": key(inbox_id), "assignee_id": key(assignee_id),
            "channel_id": key(channel_id)}  # fmt: skip
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(ReportDay).values(**keys, **added)
    table = ReportDay.__table__.c
    # Counters add, lists append (``+`` on text renders ``||``): in one statement, so two
    # writers of the same row at once both count (PostgreSQL locks the row in between).
    statement = statement.on_conflict_do_update(
        index_elements=list(KEYS),
        set_={name: table[name] + statement.excluded[name] for name in added},
    )
    session.execute(statement)


# The facts as the fill reads them: its own table clause, so the migration that calls it
# does not depend on today's model.
_facts = sa.table(
    "report_facts",
    sa.column("kind", sa.String()),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("inbox_id", sa.Integer()),
    sa.column("assignee_id", sa.Integer()),
    sa.column("channel_id", sa.Integer()),
    sa.column("seconds", sa.Integer()),
    sa.column("business_seconds", sa.Integer()),
)
LISTS = [name + suffix for name in TIMED.values() for suffix in ("", BUSINESS)]
_days = sa.table("report_days", *(sa.column(name) for name in (*KEYS, *COUNTERS.values(), *LISTS)))


def fill(connection: Connection) -> None:
    """Every stored fact summed into ``report_days`` (which must be empty): one
    ``INSERT … SELECT … GROUP BY``."""
    postgres = connection.dialect.name == "postgresql"
    c = _facts.c
    if postgres:
        day: ColumnElement[Any] = sa.cast(func.timezone("UTC", c.at), sa.Date)
    else:
        day = func.substr(c.at, 1, 10)  # SQLite keeps UTC text; a Date is its first ten

    def listed(kind: FactKind, value: ColumnElement[Any]) -> ColumnElement[Any]:
        timed = sa.and_(c.kind == str(kind), c.seconds.is_not(None))
        item = sa.case((timed, _hex(postgres, value)))
        return func.coalesce(joined(connection.dialect.name, item), "")

    columns: list[ColumnElement[Any]] = [
        day, func.coalesce(c.inbox_id, NONE), func.coalesce(c.assignee_id, NONE),
        func.coalesce(c.channel_id, NONE),
    ]  # fmt: skip
    columns += [func.sum(sa.case((c.kind == str(kind), 1), else_=0)) for kind in COUNTERS]
    for kind in TIMED:
        columns += [listed(kind, c.seconds), listed(kind, func.coalesce(c.business_seconds,
                                                                        c.seconds))]  # fmt: skip
    grouped = sa.select(*columns).group_by(*columns[:4])
    connection.execute(sa.insert(_days).from_select(list(_days.c.keys()), grouped))


def _hex(postgres: bool, seconds: ColumnElement[Any]) -> ColumnElement[str]:
    """:func:`encode` in SQL."""
    if postgres:
        clamped = func.least(func.greatest(seconds, 0), MAX_SECONDS)
        return func.lpad(func.to_hex(clamped), WIDTH, "0")
    clamped = func.min(func.max(seconds, 0), MAX_SECONDS)
    return func.printf("%08x", clamped)
