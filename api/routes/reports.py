"""``/api/v1/reports``: the figures of the reports page for an integration (a BI tool, a
weekly e-mail): per day or week and per inbox, agent, channel or tag, from the reporting table.
A key sees the figures of its inboxes only. docs/reports.md says what each figure means."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.auth import ApiScope, require_api_key
from api.deps import SessionDep
from api.routes.conversations import field_error
from api.schemas import ErrorOut
from inbox.reporting import figures
from inbox.reporting.figures import Dimension, Grouping, Hours, ReportInputError, Stats

router = APIRouter(
    prefix="/api/v1/reports",
    tags=["reports"],
    dependencies=[Depends(require_api_key)],
    responses={401: {"model": ErrorOut, "description": "Missing, invalid or revoked API key"}},
)


class TimeFigure(BaseModel):
    """One time figure over the period's events, in seconds (null when there were none)."""

    count: int
    median_seconds: float | None
    p90_seconds: float | None = Field(description="90th percentile, interpolated.")
    mean_seconds: float | None

    @classmethod
    def of(cls, stats: Stats) -> TimeFigure:
        return cls(count=stats.count, median_seconds=stats.median, p90_seconds=stats.p90,
                   mean_seconds=stats.mean)  # fmt: skip


class SlaFigure(BaseModel):
    """The SLA targets (first response, next response, resolution) that ended in the period."""

    met: int
    breached: int
    hit_rate_percent: float | None = Field(
        description="100 * met / (met + breached), to one decimal (null: no target ended)."
    )


class ReportRowOut(BaseModel):
    period: date = Field(description="The day, or the Monday of the ISO week (UTC).")
    key: int | str | None = Field(
        description="The inbox, agent or channel id, or the tag itself (null: none, no tag)."
    )
    label: str
    opened: int
    closed: int
    reopened: int
    messages_in: int
    messages_out: int
    sla: SlaFigure
    first_response: TimeFigure
    close: TimeFigure = Field(description="Time to close.")
    reply: TimeFigure = Field(description="Each human reply's wait.")


class ReportOut(BaseModel):
    from_: date = Field(alias="from")
    to: date
    group: Grouping
    by: Dimension
    hours: Hours = Field(description="all: every second counts; business: open hours only.")
    rows: list[ReportRowOut]


@router.get("", response_model=ReportOut, response_model_by_alias=True)
def get_report(
    session: SessionDep,
    scope: ApiScope,
    from_: Annotated[str, Query(alias="from", max_length=10)] = "",
    to: Annotated[str, Query(max_length=10)] = "",
    group: Annotated[str, Query(max_length=8)] = "day",
    by: Annotated[str, Query(max_length=8)] = "inbox",
    hours: Annotated[str, Query(max_length=8)] = "all",
) -> ReportOut:
    """Figures from `from` to `to` (dates, both included, UTC), per `group` (day or week) and
    per `by` (inbox, agent, channel or tag: a conversation counts in each of its tags' rows,
    one without tags in "No tag"). A missing or malformed date, `to` before `from` or a
    range over two years is a 422 that says which."""
    try:
        dates = figures.parse_range(from_, to)
        grouping = figures.parse_choice(Grouping, group, "group")
        dimension = figures.parse_choice(Dimension, by, "by")
        counted = figures.parse_choice(Hours, hours, "hours")
    except ReportInputError as exc:
        raise field_error(exc.field, str(exc), where="query") from None
    report = figures.build(
        session,
        dates=dates,
        group=grouping,
        by=dimension,
        inbox_ids=scope.inbox_ids,
        hours=counted,
    )
    rows = [
        ReportRowOut(
            period=row.period,
            key=row.key,
            label=row.label,
            opened=row.opened,
            closed=row.closed,
            reopened=row.reopened,
            messages_in=row.messages_in,
            messages_out=row.messages_out,
            sla=SlaFigure(
                met=row.sla_met, breached=row.sla_breached, hit_rate_percent=row.sla_hit_rate
            ),
            first_response=TimeFigure.of(row.first_response),
            close=TimeFigure.of(row.close),
            reply=TimeFigure.of(row.reply),
        )
        for row in report.rows
    ]
    return ReportOut.model_validate(
        {
            "from": dates.start,
            "to": dates.end,
            "group": grouping,
            "by": dimension,
            "hours": counted,
            "rows": rows,
        }
    )
