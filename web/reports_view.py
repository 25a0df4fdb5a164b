"""How a report is shown: the bar chart's geometry (server-rendered SVG, drawn by the
template with classes from app.css: no script, no inline style), durations for people, and
the CSV export. The figures themselves come from ``inbox.reporting.figures``."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from inbox.reporting import figures
from inbox.reporting.figures import Dimension, Report, Stats

WIDTH, HEIGHT = 760, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 10, 28
# At most this many period labels under the x axis (a year of days would overlap).
MAX_LABELS = 12


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str  # a CSS class: bar-opened, bar-closed
    title: str


@dataclass(frozen=True)
class Tick:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    x_labels: list[Tick]
    y_labels: list[Tick]
    baseline: float
    plot_left: float
    plot_right: float


def chart(report: Report) -> Chart:
    """Conversations opened and closed per period (every inbox, agent or channel of the
    report together), two bars per period."""
    periods = report.periods()
    opened = dict.fromkeys(periods, 0)
    closed = dict.fromkeys(periods, 0)
    met, breached = dict.fromkeys(periods, 0), dict.fromkeys(periods, 0)
    for row in report.rows:
        opened[row.period] = opened.get(row.period, 0) + row.opened
        closed[row.period] = closed.get(row.period, 0) + row.closed
        met[row.period] = met.get(row.period, 0) + row.sla_met
        breached[row.period] = breached.get(row.period, 0) + row.sla_breached
    top = max([*opened.values(), *closed.values(), 1])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(periods), 1)
    bar_w = max(slot * 0.4, 0.5)
    baseline = TOP + plot_h
    bars: list[Bar] = []
    x_labels: list[Tick] = []
    every = max(1, -(-len(periods) // MAX_LABELS))
    for i, period in enumerate(periods):
        x = LEFT + i * slot + slot * 0.1
        # The period's SLA hit rate in each bar's tooltip (per tag, a conversation's targets
        # count once per tag, as in the table).
        rate = figures.hit_rate(met[period], breached[period])
        sla = "" if rate is None else f"; SLA {hit_rate(rate, met[period], breached[period])}"
        for offset, series, counts, what in (
            (0.0, "bar-opened", opened, "opened"),
            (bar_w, "bar-closed", closed, "closed"),
        ):
            height = plot_h * counts[period] / top
            bars.append(Bar(round(x + offset, 2), round(baseline - height, 2), round(bar_w, 2),
                            round(height, 2), series,
                            f"{period.isoformat()}: {counts[period]} {what}{sla}"))  # fmt: skip
        if i % every == 0:
            x_labels.append(Tick(round(x + bar_w, 2), baseline + 16, _short(period)))
    y_labels = [
        Tick(LEFT - 6, round(baseline - plot_h * value / top, 2) + 4, str(value))
        for value in sorted({0, top // 2, top})
    ]
    return Chart(WIDTH, HEIGHT, bars, x_labels, y_labels, baseline, LEFT, WIDTH - RIGHT)


def _short(day: date) -> str:
    return day.strftime("%d %b")


def hit_rate(rate: float | None, met: int, breached: int) -> str:
    """An SLA hit rate for people: "75% (3 of 4)", "66.7% (2 of 3)"; an em dash for none."""
    if rate is None:
        return "—"
    return f"{rate:g}% ({met} of {met + breached})"


def duration(seconds: float | None) -> str:
    """``seconds`` for people: 45s, 3m 20s, 2h 5m, 3d 4h; an em dash for none."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


_TIMES = ("first_response", "close", "reply")
_COUNTS = ("opened", "closed", "reopened", "messages_in", "messages_out")


def csv_text(report: Report) -> str:
    """The report's table as CSV: one line per period and inbox, agent, channel or tag; time
    figures in seconds."""
    out = io.StringIO()
    writer = csv.writer(out)
    # A tag has no id: its column is the tag as stored (empty: no tag).
    tagged = report.by == Dimension.TAG
    names = ["tag"] if tagged else [report.by.value + "_id", report.by.value]
    header = ["period", *names, *_COUNTS, "sla_met", "sla_breached", "sla_hit_rate_pct"]
    for name in _TIMES:
        header += [f"{name}_count", f"{name}_median_s", f"{name}_p90_s", f"{name}_mean_s"]
    writer.writerow(header)
    for row in report.rows:
        line: list[object] = [row.period.isoformat(), row.key or ""]
        if not tagged:
            line.append(row.label)
        line += [getattr(row, name) for name in _COUNTS]
        rate = row.sla_hit_rate
        line += [row.sla_met, row.sla_breached, "" if rate is None else rate]
        for name in _TIMES:
            stats: Stats = getattr(row, name)
            line += [stats.count, *("" if v is None else v for v in (stats.median, stats.p90,
                                                                     stats.mean))]  # fmt: skip
        writer.writerow(line)
    return out.getvalue()
