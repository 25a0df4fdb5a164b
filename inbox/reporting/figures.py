"""Reading the reporting tables: the figures of a date range, per day or week and per inbox,
agent, channel or tag. One query, never over messages: per inbox, agent or channel over the
daily roll-up ``report_days``, per tag over ``report_facts`` joined to the conversations' tags;
the counts, medians, 90th percentiles and means are computed here, so SQLite and PostgreSQL
share one code path."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, MutableSequence, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, FromClause, String, func, select, true, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from inbox.models import Channel, Conversation, Inbox, ReportDay, ReportFact, User
from inbox.reporting import days
from inbox.reporting.kinds import FactKind

E = TypeVar("E", bound=StrEnum)

# "Longer than two years" (a leap day included).
MAX_DAYS = 731


class Grouping(StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO weeks, Monday first


class Hours(StrEnum):
    """Which time the time figures count: every second, or the inbox's open hours only."""

    ALL = "all"
    BUSINESS = "business"


class Dimension(StrEnum):
    INBOX = "inbox"
    AGENT = "agent"
    CHANNEL = "channel"
    TAG = "tag"  # the conversation's tags now: one row per tag, "No tag" for none


# What a row is keyed by: an inbox, agent or channel id, or a tag (its stored text); None for
# no inbox, unassigned, no channel or no tag.
Key = int | str | None


class ReportInputError(ValueError):
    """A range or choice the report cannot answer; the message says why (shown as is) and
    ``field`` names the parameter at fault."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class DateRange:
    """Days ``start`` to ``end``, both included, in UTC."""

    start: date
    end: date

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time(), UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time(), UTC)


def parse_range(start: str | None, end: str | None) -> DateRange:
    """The range the form or API asked for, or :class:`ReportInputError`: a date missing or
    malformed, ``to`` before ``from`` (an empty range), or more than two years."""
    first, last = _day(start, "from"), _day(end, "to")
    if last < first:
        raise ReportInputError(
            f"The range is empty: 'to' ({last}) is before 'from' ({first}).", field="to"
        )
    if (last - first).days + 1 > MAX_DAYS:
        raise ReportInputError(
            "The range is longer than two years; choose a shorter one.", field="to"
        )
    return DateRange(first, last)


def _day(value: str | None, name: str) -> date:
    if not value:
        raise ReportInputError(
            f"Give both dates of the range: '{name}' is missing (YYYY-MM-DD).", field=name
        )
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ReportInputError(
            f"'{name}' is not a date: dates are written YYYY-MM-DD, for example 2026-11-30.",
            field=name,
        ) from None


def parse_choice(kind: type[E], value: str | None, name: str) -> E:
    """``value`` as a member of ``kind``, or :class:`ReportInputError` naming the choices."""
    try:
        return kind(value or "")
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise ReportInputError(f"'{name}' must be one of: {allowed}.", field=name) from None


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` percentile of sorted ``values``, interpolated between the two closest
    ranks (as PostgreSQL's ``percentile_cont``)."""
    rank = fraction * (len(values) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return values[low] + (values[high] - values[low]) * (rank - low)


@dataclass(frozen=True)
class Stats:
    """One time figure in seconds: how many, median, 90th percentile, mean (None: none)."""

    count: int = 0
    median: float | None = None
    p90: float | None = None
    mean: float | None = None

    @classmethod
    def of(cls, seconds: Iterable[int]) -> Stats:
        ordered = sorted(seconds)  # whole seconds: sorted as ints, a year's worth at once
        if not ordered:
            return cls()
        # Rounded to milliseconds: interpolation must not show 384.0000000000001 s.
        # The median as the 50th percentile: the same value, without sorting again.
        median, p90 = percentile(ordered, 0.5), percentile(ordered, 0.9)
        return cls(len(ordered), round(median, 3), round(p90, 3),
                   round(statistics.fmean(ordered), 3))  # fmt: skip


@dataclass
class Row:
    """The figures of one period for one inbox, agent, channel or tag."""

    period: date
    key: Key
    label: str
    opened: int = 0
    closed: int = 0
    reopened: int = 0
    messages_in: int = 0
    messages_out: int = 0
    # SLA targets (first response, next response, resolution) that ended in the period.
    sla_met: int = 0
    sla_breached: int = 0
    first_response: Stats = field(default_factory=Stats)
    close: Stats = field(default_factory=Stats)
    reply: Stats = field(default_factory=Stats)

    @property
    def sla_hit_rate(self) -> float | None:
        return hit_rate(self.sla_met, self.sla_breached)


def hit_rate(met: int, breached: int) -> float | None:
    """Met / (met + breached) as a percentage to one decimal; None when no target ended."""
    ended = met + breached
    return None if not ended else round(100 * met / ended, 1)


@dataclass
class Report:
    range: DateRange
    group: Grouping
    by: Dimension
    rows: list[Row]
    hours: Hours = Hours.ALL

    def periods(self) -> list[date]:
        """Every period of the range, empty ones too (a chart's x axis)."""
        found, day = [], period_of(self.range.start, self.group)
        while day <= self.range.end:
            found.append(day)
            day += timedelta(days=7 if self.group == Grouping.WEEK else 1)
        return found


def period_of(day: date, group: Grouping) -> date:
    return day - timedelta(days=day.weekday()) if group == Grouping.WEEK else day


# A fact's kind → the Row field it counts in, and → the time figure its seconds join: the
# names the roll-up's columns have too (``days``), so one mapping serves both readers.
_COUNTED = days.COUNTERS
_TIMED = days.TIMED

_DAY_KEY = {Dimension.INBOX: "inbox_id", Dimension.AGENT: "assignee_id",
            Dimension.CHANNEL: "channel_id"}  # fmt: skip


Cells = dict[tuple[date, Key], dict[str, int]]
Values = dict[tuple[date, Key], dict[str, MutableSequence[int]]]  # lists, or arrays of a roll-up


def build(
    session: Session,
    *,
    dates: DateRange,
    group: Grouping,
    by: Dimension,
    inbox_ids: frozenset[int] | None = None,
    assignee_id: int | None = None,
    hours: Hours = Hours.ALL,
) -> Report:
    """The report of ``dates``: only facts of ``inbox_ids`` (None: every inbox) and, when
    given, of conversations assigned to ``assignee_id`` (an agent's own figures); the time
    figures in plain or business ``hours``.

    Per inbox, agent or channel it reads the daily roll-up (``report_days``: the dimension
    as it was at the event, as the roll-up keeps it); per tag the facts themselves, joined to
    the conversations' tags now (a roll-up by tag would be wrong the moment a tag changes)."""
    counts: Cells = defaultdict(lambda: defaultdict(int))
    seconds: Values = defaultdict(lambda: defaultdict(list))
    if by == Dimension.TAG:
        _by_tag(session, dates, group, inbox_ids, assignee_id, hours, counts, seconds)
    else:
        _from_days(session, dates, group, by, inbox_ids, assignee_id, hours, counts, seconds)
    labels = _labels(session, by, {key for _, key in counts.keys() | seconds.keys()})
    rows = []
    for period, key in sorted(counts.keys() | seconds.keys(), key=_order(labels)):
        row = Row(period, key, labels.get(key, _NONE[by]))
        for name, count in counts[(period, key)].items():
            setattr(row, name, count)
        for name, values in seconds[(period, key)].items():
            if values:
                setattr(row, name, Stats.of(values))
        rows.append(row)
    return Report(dates, group, by, rows, hours)


def _from_days(
    session: Session,
    dates: DateRange,
    group: Grouping,
    by: Dimension,
    inbox_ids: frozenset[int] | None,
    assignee_id: int | None,
    hours: Hours,
    counts: Cells,
    seconds: Values,
) -> None:
    """The day rows of the range summed per period and inbox, agent or channel by the
    database (counts added, lists joined): one row back per row of the report."""
    table = ReportDay.__table__.c
    key = table[_DAY_KEY[by]]
    suffix = days.BUSINESS if hours == Hours.BUSINESS else ""
    counters = list(days.COUNTERS.values())
    timed = [_TIMED[kind] for kind in days.TIMED]
    dialect = session.get_bind().dialect.name
    period = table.day if group == Grouping.DAY else days.week_of(dialect, table.day)
    query = (
        select(
            period,
            key,
            *(func.sum(table[name]) for name in counters),
            *(days.joined(dialect, table[name + suffix]) for name in days.TIMED.values()),
        )
        .where(table.day >= dates.start, table.day <= dates.end)
        .group_by(period, key)
    )
    if inbox_ids is not None:
        query = query.where(table.inbox_id.in_(sorted(inbox_ids)))
    if assignee_id is not None:
        query = query.where(table.assignee_id == assignee_id)
    for start, found, *figures in session.execute(query):
        cell = (start, None if found == days.NONE else found)
        counts[cell] = dict(zip(counters, figures, strict=False))
        seconds[cell] = {
            name: days.seconds_of(listed)
            for name, listed in zip(timed, figures[len(counters) :], strict=True)
        }


def _by_tag(
    session: Session,
    dates: DateRange,
    group: Grouping,
    inbox_ids: frozenset[int] | None,
    assignee_id: int | None,
    hours: Hours,
    counts: Cells,
    seconds: Values,
) -> None:
    """The facts of the range, counted per day and tag in SQL; the seconds of the time
    figures fetched as they are (the percentiles need every value)."""
    periods: dict[str, date] = {}

    def period_at(text: str) -> date:  # a day's text once per distinct day, not once per row
        if text not in periods:
            periods[text] = period_of(date.fromisoformat(text), group)
        return periods[text]

    column, source = _tags_of(session)
    day = _utc_day(session)
    scope = [ReportFact.at >= dates.since, ReportFact.at < dates.until]
    if inbox_ids is not None:
        scope.append(ReportFact.inbox_id.in_(sorted(inbox_ids)))
    if assignee_id is not None:
        scope.append(ReportFact.assignee_id == assignee_id)
    counted = (
        select(day, column, ReportFact.kind, func.count())
        .select_from(source)
        .where(*scope, ReportFact.kind.in_([str(kind) for kind in _COUNTED]))
        .group_by(day, column, ReportFact.kind)
    )
    for text, key, kind, count in session.execute(counted):
        counts[(period_at(text), key)][_COUNTED[FactKind(kind)]] += count
    timed = (
        select(day, column, ReportFact.kind, _seconds(hours))
        .select_from(source)
        .where(
            *scope,
            ReportFact.kind.in_([str(kind) for kind in _TIMED]),
            ReportFact.seconds.is_not(None),
        )
    )
    for text, key, kind, value in session.execute(timed):
        if value is not None:  # always (the query's condition); says so to the type checker
            seconds[(period_at(text), key)][_TIMED[FactKind(kind)]].append(value)


def _seconds(hours: Hours) -> ColumnElement[int | None]:
    """A time figure's seconds: plain, or within business hours (counted when the fact was
    written; a fact older than that count has none and gives its plain seconds)."""
    if hours == Hours.BUSINESS:
        return func.coalesce(ReportFact.business_seconds, ReportFact.seconds)
    return ReportFact.seconds.expression


def _tags_of(session: Session) -> tuple[ColumnElement[Any], FromClause]:
    """The tag column the rows are keyed by and what the queries read: each fact once
    per tag its conversation carries now (tags are put on at any time, often at the close,
    so the fact's own moment would miss most), and once with no tag for a conversation
    without any (an outer join)."""
    facts = ReportFact.__table__.join(
        Conversation.__table__, Conversation.id == ReportFact.conversation_id
    )
    if session.get_bind().dialect.name == "postgresql":
        each = func.jsonb_array_elements_text(type_coerce(Conversation.tags, JSONB))
        tags = each.table_valued("value").render_derived().lateral()
    else:
        tags = func.json_each(Conversation.tags).table_valued("value")
    return tags.c.value, facts.outerjoin(tags, true())


def _utc_day(session: Session) -> ColumnElement[str]:
    """The UTC day of a fact as YYYY-MM-DD text, computed by the database (the one place the
    dialects differ: SQLite keeps UTC text, PostgreSQL a timestamptz)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", ReportFact.at), "YYYY-MM-DD")
    return type_coerce(func.substr(ReportFact.at, 1, 10), String)


_NONE = {Dimension.INBOX: "(no inbox)", Dimension.AGENT: "Unassigned",
         Dimension.CHANNEL: "(no channel)", Dimension.TAG: "No tag"}  # fmt: skip


def _order(
    labels: dict[Key, str],
) -> Callable[[tuple[date, Key]], tuple[date, bool, str, str]]:
    """Periods in order; within one, by name, the unnamed (unassigned) last; two of one name
    by id (a tag's name is its key)."""
    return lambda cell: (cell[0], cell[1] is None, labels.get(cell[1], ""),
                         f"{cell[1]:020d}" if isinstance(cell[1], int) else "")  # fmt: skip


def _labels(session: Session, by: Dimension, keys: set[Key]) -> dict[Key, str]:
    if by == Dimension.TAG:
        return {key: key for key in keys if isinstance(key, str)}
    ids = sorted(key for key in keys if isinstance(key, int))
    if not ids:
        return {}
    id_column, name_column = {
        Dimension.INBOX: (Inbox.id, Inbox.name),
        Dimension.AGENT: (User.id, User.name),
        Dimension.CHANNEL: (Channel.id, Channel.name),
    }[by]
    found = session.execute(select(id_column, name_column).where(id_column.in_(ids)))
    return {key: name for key, name in found}
