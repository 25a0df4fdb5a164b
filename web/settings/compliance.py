"""Settings · Compliance: consent keywords, quiet hours, the frequency cap; a person's record
of a consent change (with a note); the consent records, and their CSV for an audit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from api.deps import CommitDep, SessionDep
from inbox.services import consent
from inbox.services.admin import compliance
from inbox.services.admin.errors import SettingsError
from web.auth import AdminUser, CsrfProtected
from web.settings.common import admin_router, back, page

router: APIRouter = admin_router("compliance")


def _show(request: Request, session: SessionDep, user: AdminUser, **extra: Any) -> Response:
    return page(
        request,
        session,
        user,
        "compliance.html",
        "compliance",
        settings=compliance.current(session),
        records=compliance.recent_records(session),
        **extra,
    )


@router.get("")
def compliance_page(request: Request, session: SessionDep, user: AdminUser) -> Response:
    """The settings, the form to record a change, the latest consent records."""
    return _show(request, session, user)


@router.post("", dependencies=[CsrfProtected])
def save_compliance(
    request: Request,
    session: SessionDep,
    commit: CommitDep,
    user: AdminUser,
    opt_out_words: Annotated[str, Form()] = "",
    opt_in_words: Annotated[str, Form()] = "",
    help_words: Annotated[str, Form()] = "",
    quiet_start: Annotated[str, Form()] = "",
    quiet_end: Annotated[str, Form()] = "",
    state_windows: Annotated[str, Form()] = "",
    automated_per_day: Annotated[int, Form(ge=0, le=compliance.MAX_PER_DAY)] = 3,
) -> Response:
    try:
        compliance.save(
            session,
            actor=user,
            opt_out_words=opt_out_words,
            opt_in_words=opt_in_words,
            help_words=help_words,
            quiet_start=quiet_start,
            quiet_end=quiet_end,
            state_windows=state_windows,
            automated_per_day=automated_per_day,
        )
    except SettingsError as exc:
        session.rollback()
        return _show(request, session, user, error=str(exc), status_code=422)
    commit()
    return back("/settings/compliance")


@router.post("/numbers", dependencies=[CsrfProtected])
def record_change(
    request: Request,
    session: SessionDep,
    commit: CommitDep,
    user: AdminUser,
    number: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """A person records an opt-out, or a documented opt-in of an opt-out a person recorded."""
    try:
        if action not in ("opt_out", "opt_in"):
            raise SettingsError("action: opt out or opt in")
        consent.record_by_person(
            session,
            number=compliance.number_of(number),
            opt_out=action == "opt_out",
            actor=user,
            note=note[:2000],
        )
    except (SettingsError, consent.ConsentError) as exc:
        session.rollback()
        return _show(request, session, user, error=str(exc), status_code=422)
    commit()
    return back("/settings/compliance")


@router.get("/records.csv")
def consent_records_csv(session: SessionDep, user: AdminUser) -> Response:
    """Every opt-out and opt-in with its time, keyword, channel and message, for an audit."""
    return Response(
        compliance.export_csv(session),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="consent-records.csv"'},
    )
