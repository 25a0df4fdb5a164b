"""The reports page (``/reports``): a form (range, day or week, per inbox, agent, channel or
tag), a bar chart and the table beneath, and its CSV export. Managers and admins see
every conversation's figures; an agent sees those of the conversations assigned to them."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response

from api.deps import SessionDep
from inbox.models import Role, User
from inbox.models.base import utcnow
from inbox.reporting import figures
from inbox.reporting.figures import Dimension, Grouping, Hours, Report, ReportInputError
from web.auth import CurrentUser
from web.deps import page_context
from web.reports_view import chart, csv_text, duration, hit_rate
from web.templating import render

router = APIRouter(prefix="/reports", tags=["web"])

# The page opens on the last 30 days.
DEFAULT_DAYS = 30

FromQuery = Annotated[str | None, Query(alias="from", max_length=10)]
ToQuery = Annotated[str | None, Query(max_length=10)]
ChoiceQuery = Annotated[str, Query(max_length=8)]


def _sees_everything(user: User) -> bool:
    return user.role in (Role.ADMIN, Role.MANAGER)


def _report(
    session: SessionDep, user: User, start: str, end: str, group: str, by: str, hours: str
) -> Report:
    dates = figures.parse_range(start, end)
    return figures.build(
        session,
        dates=dates,
        group=figures.parse_choice(Grouping, group, "group"),
        by=figures.parse_choice(Dimension, by, "by"),
        assignee_id=None if _sees_everything(user) else user.id,
        hours=figures.parse_choice(Hours, hours, "hours"),
    )


def _defaults(start: str | None, end: str | None) -> tuple[str, str]:
    """The range asked for; none at all (the nav link) means the last 30 days."""
    if start is None and end is None:
        today = utcnow().date()
        return (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(), today.isoformat()
    return start or "", end or ""


@router.get("")
def reports_page(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    from_: FromQuery = None,
    to: ToQuery = None,
    group: ChoiceQuery = "day",
    by: ChoiceQuery = "inbox",
    hours: ChoiceQuery = "all",
) -> Response:
    """The form, the chart and the table; a bad range is shown above the form (422)."""
    start, end = _defaults(from_, to)
    form = {"from": start, "to": end, "group": group, "by": by, "hours": hours}
    context = page_context(request, session, user, section="reports", form=form,
                           everything=_sees_everything(user), duration=duration,
                           hit_rate=hit_rate, dimensions=list(Dimension),
                           groupings=list(Grouping), hours=list(Hours))  # fmt: skip
    try:
        report = _report(session, user, start, end, group, by, hours)
    except ReportInputError as exc:
        context |= {"error": str(exc), "report": None}
        return render(request, "reports.html", context, status_code=422)
    context |= {"report": report, "chart": chart(report)}
    return render(request, "reports.html", context)


@router.get("/export.csv")
def reports_csv(
    session: SessionDep,
    user: CurrentUser,
    from_: FromQuery = None,
    to: ToQuery = None,
    group: ChoiceQuery = "day",
    by: ChoiceQuery = "inbox",
    hours: ChoiceQuery = "all",
) -> Response:
    """The page's table as CSV (seconds for the time figures, plain or business hours)."""
    start, end = _defaults(from_, to)
    try:
        report = _report(session, user, start, end, group, by, hours)
    except ReportInputError as exc:
        return PlainTextResponse(str(exc), status_code=422)
    name = f"report-{report.range.start}-{report.range.end}-{report.group}-{report.by}"
    name += "-business-hours.csv" if report.hours == Hours.BUSINESS else ".csv"
    return Response(
        csv_text(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
