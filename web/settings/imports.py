"""Settings · Import contacts from CSV: upload, map columns, watch progress, see bad rows.

The upload is copied from its spooled stream to ``INBOX_DATA_DIR/imports`` in chunks; the
import runs after the response as a background task (in this process) and the page polls the
job's counts with htmx until it finishes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, File, HTTPException, Request, UploadFile
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import select
from starlette.background import BackgroundTask

from api.deps import SessionDep, SettingsDep, StateDep
from inbox.limits import DbId
from inbox.models import ImportJob, ImportRowError
from inbox.models.settings import ImportStatus
from inbox.services.admin import contacts_import
from inbox.services.admin.errors import SettingsError
from web.auth import AdminUser, CsrfProtected
from web.settings.common import admin_router, back, page

router: APIRouter = admin_router("import")

RUNNING = (ImportStatus.QUEUED, ImportStatus.RUNNING)


def _jobs(session: SessionDep) -> list[ImportJob]:
    return list(session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(20)))


def _job(session: SessionDep, job_id: DbId) -> ImportJob:
    job = session.get(ImportJob, job_id)
    if job is None:
        raise HTTPException(status_code=404, detail="No such import")
    return job


def _show_job(
    request: Request, session: SessionDep, user: AdminUser, job: ImportJob, **extra: Any
) -> Response:
    return page(
        request,
        session,
        user,
        "import.html",
        "import",
        job=job,
        jobs=_jobs(session),
        targets=contacts_import.targets(session),
        errors=contacts_import.row_errors(session, job.id),
        running=job.status in RUNNING,
        **extra,
    )


@router.get("")
def import_page(request: Request, session: SessionDep, user: AdminUser) -> Response:
    """The upload form and recent imports."""
    return page(request, session, user, "import.html", "import", job=None, jobs=_jobs(session))


@router.post("", dependencies=[CsrfProtected])
def import_upload(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: AdminUser,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Keep the uploaded CSV and ask how its columns map to contact fields."""
    try:
        job = contacts_import.receive_upload(
            session,
            stream=file.file,
            filename=file.filename or "contacts.csv",
            directory=settings.data_dir / "imports",
            created_by_id=user.id,
        )
    except SettingsError as exc:
        session.rollback()
        return page(
            request,
            session,
            user,
            "import.html",
            "import",
            job=None,
            jobs=_jobs(session),
            error=str(exc),
            status_code=422,
        )
    session.commit()
    return back(f"/settings/import/{job.id}")


@router.get("/{job_id}")
def import_job_page(
    request: Request, session: SessionDep, user: AdminUser, job_id: DbId
) -> Response:
    """The column mapping form, or the import's progress and its rejected rows."""
    return _show_job(request, session, user, _job(session, job_id))


@router.post("/{job_id}/start", dependencies=[CsrfProtected])
async def import_start(
    request: Request, session: SessionDep, state: StateDep, user: AdminUser, job_id: DbId
) -> Response:
    """Save the mapping (fields ``map_<column index>``) and run the import in the background."""
    job = _job(session, job_id)
    form = await request.form()
    mapping = {
        column: str(form.get(f"map_{index}") or "") for index, column in enumerate(job.columns)
    }
    try:
        contacts_import.set_mapping(session, job=job, mapping=mapping, actor_id=user.id)
    except SettingsError as exc:
        session.rollback()
        job = _job(session, job_id)
        job.mapping = mapping  # show the admin's choice again, not the guess (not saved)
        response = _show_job(request, session, user, job, error=str(exc), status_code=422)
        session.rollback()
        return response
    session.commit()
    response = back(f"/settings/import/{job_id}")
    response.background = BackgroundTask(contacts_import.run_import, state.sessions, job_id)
    return response


@router.get("/{job_id}/progress")
def import_progress(
    request: Request, session: SessionDep, user: AdminUser, job_id: DbId
) -> Response:
    """The progress block alone (polled by htmx while the import runs)."""
    job = _job(session, job_id)
    return page(
        request,
        session,
        user,
        "import.html",
        "import",
        block="progress",
        job=job,
        jobs=[],
        targets={},
        errors=contacts_import.row_errors(session, job.id),
        running=job.status in RUNNING,
    )


@router.get("/{job_id}/errors.csv")
def import_errors_csv(
    session: SessionDep, state: StateDep, user: AdminUser, job_id: DbId
) -> Response:
    """Every rejected row (line, problem) as CSV, streamed."""
    job = _job(session, job_id)

    def rows() -> Iterator[str]:
        with state.sessions() as reader:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(["line", "problem"])
            query = (
                select(ImportRowError.line, ImportRowError.message)
                .where(ImportRowError.job_id == job_id)
                .order_by(ImportRowError.line)
                .execution_options(yield_per=1000)
            )
            for count, (line, message) in enumerate(reader.execute(query), start=1):
                writer.writerow([line, message])
                if count % 500 == 0:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue()

    name = f"import-{job.id}-errors.csv"
    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
