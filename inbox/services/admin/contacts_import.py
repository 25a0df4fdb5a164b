"""Importing contacts from CSV: streamed, mapped, batch-committed, every bad row reported.

The flow: :func:`receive_upload` copies the uploaded stream to a file under
``INBOX_DATA_DIR/imports`` in chunks and reads only its header; the admin maps columns
(:func:`set_mapping`); :func:`run_import` then reads the file row by row with the csv module,
commits every ``batch_size`` rows together with the job's counters (what the page polls), and
records each rejected row with its line number (bad number, duplicate, bad field value) while
the good rows import. Memory holds one batch, never the file.
"""

from __future__ import annotations

import csv
import io
import logging
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import available_timezones

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from inbox.models import (
    Contact,
    ContactNumber,
    CustomFieldDefinition,
    ImportJob,
    ImportRowError,
    utcnow,
)
from inbox.models.settings import FieldEntity, ImportStatus
from inbox.phone import InvalidNumber, normalize_number
from inbox.services.admin import audit
from inbox.services.admin.errors import SettingsError
from inbox.services.admin.fields import coerce_value

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
COPY_CHUNK = 256 * 1024
# Where each column can go; custom contact fields add "field:<key>".
BASE_TARGETS = {
    "name": "Name",
    "first_name": "First name",
    "last_name": "Last name",
    "number": "Phone number",
    "email": "Email",
    "timezone": "Time zone",
}
_GUESSES = {
    "name": "name", "full name": "name", "contact": "name",
    "first name": "first_name", "firstname": "first_name", "given name": "first_name",
    "last name": "last_name", "lastname": "last_name", "surname": "last_name",
    "family name": "last_name",
    "number": "number", "phone": "number", "phone number": "number", "mobile": "number",
    "cell": "number", "sms": "number", "telephone": "number",
    "email": "email", "e-mail": "email", "email address": "email",
    "timezone": "timezone", "time zone": "timezone", "tz": "timezone",
}  # fmt: skip


def targets(session: Session) -> dict[str, str]:
    """Every target a column can map to (value → label), custom contact fields included."""
    found = dict(BASE_TARGETS)
    for definition in session.scalars(
        select(CustomFieldDefinition)
        .where(CustomFieldDefinition.entity == FieldEntity.CONTACT)
        .order_by(CustomFieldDefinition.position)
    ):
        found[f"field:{definition.key}"] = f"{definition.label} (custom field)"
    return found


def guess_mapping(columns: list[str], available: dict[str, str]) -> dict[str, str]:
    """A first mapping from header names ("Phone" → number, "Company" → field:company)."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for column in columns:
        simple = column.strip().lower().replace("_", " ")
        target = _GUESSES.get(simple, "")
        if not target:
            by_key = f"field:{simple.replace(' ', '_')}"
            by_label = next(
                (t for t, label in available.items() if label.lower().startswith(simple + " (")),
                "",
            )
            target = by_key if by_key in available else by_label
        if target and target not in used:
            mapping[column] = target
            used.add(target)
        else:
            mapping[column] = ""
    return mapping


def receive_upload(
    session: Session,
    *,
    stream: BinaryIO,
    filename: str,
    directory: Path,
    created_by_id: int | None = None,
) -> ImportJob:
    """Keep an uploaded CSV (copied in chunks, never read whole) and read its header.

    Raises SettingsError for a file with no header row or one that is not UTF-8 text."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{uuid.uuid4().hex}.csv"
    with path.open("wb") as out:
        shutil.copyfileobj(stream, out, COPY_CHUNK)
    try:
        with path.open("rb") as raw:
            columns = _header(raw)
    except SettingsError:
        path.unlink(missing_ok=True)
        raise
    job = ImportJob(
        filename=Path(filename or "contacts.csv").name[:300],
        path=str(path),
        size_bytes=path.stat().st_size,
        columns=columns,
        mapping=guess_mapping(columns, targets(session)),
        status=ImportStatus.MAPPING,
        created_by_id=created_by_id,
    )
    session.add(job)
    session.flush()
    return job


def _header(raw: BinaryIO) -> list[str]:
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    try:
        header = next(csv.reader(text), None)
    except UnicodeDecodeError as exc:
        raise SettingsError("file: not UTF-8 text; save the CSV as UTF-8", field="file") from exc
    except csv.Error as exc:
        raise SettingsError(f"file: not a CSV file ({exc})", field="file") from exc
    columns = [c.strip() for c in header or []]
    if not any(columns):
        raise SettingsError("file: the first line must name the columns", field="file")
    if len(set(columns)) != len(columns):
        raise SettingsError("file: two columns have the same name", field="file")
    return columns


def set_mapping(
    session: Session, *, job: ImportJob, mapping: dict[str, str], actor_id: int | None = None
) -> ImportJob:
    """Check and store the column mapping; the job is then queued to run."""
    if job.status != ImportStatus.MAPPING:
        raise SettingsError(f"import {job.id} is {job.status}; it cannot be mapped again")
    available = targets(session)
    clean: dict[str, str] = {}
    for column in job.columns:
        target = (mapping.get(column) or "").strip()
        if target and target not in available:
            raise SettingsError(f"{column}: unknown target {target!r}", field=column)
        if target and target in clean.values():
            raise SettingsError(f"{column}: {available[target]} is mapped twice", field=column)
        clean[column] = target
    if "number" not in clean.values():
        raise SettingsError("map one column to Phone number", field="mapping")
    job.mapping = clean
    job.status = ImportStatus.QUEUED
    audit.record(
        session,
        actor_id=actor_id,
        action="import.start",
        target=job.filename,
        details={"job_id": job.id, "mapping": clean},
    )
    return job


@dataclass
class _Row:
    line: int
    number: str
    values: dict[str, Any]


@dataclass
class _Batch:
    rows: list[_Row] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    lines_by_number: dict[str, int] = field(default_factory=dict)
    read: int = 0


class _RowReader:
    """Turns CSV records into contact values, or an error naming what is wrong."""

    def __init__(self, columns: list[str], mapping: dict[str, str], session: Session) -> None:
        self.index = {target: columns.index(col) for col, target in mapping.items() if target}
        self.width = len(columns)
        self.fields = {
            d.key: d
            for d in session.scalars(
                select(CustomFieldDefinition).where(
                    CustomFieldDefinition.entity == FieldEntity.CONTACT
                )
            )
        }
        self.zones = available_timezones() if "timezone" in self.index else set()

    def _get(self, record: list[str], target: str) -> str:
        position = self.index.get(target)
        if position is None or position >= len(record):
            return ""
        return record[position].strip()

    def parse(self, record: list[str]) -> tuple[str, dict[str, Any]]:
        """(E.164 number, contact values); raises ValueError with the row's problem."""
        raw_number = self._get(record, "number")
        if not raw_number:
            raise ValueError("no phone number")
        try:
            number = normalize_number(raw_number)
        except InvalidNumber as exc:
            raise ValueError(f"bad phone number {raw_number!r}: {exc}") from exc
        name = self._get(record, "name") or " ".join(
            part
            for part in (self._get(record, "first_name"), self._get(record, "last_name"))
            if part
        )
        if len(name) > 200:
            raise ValueError("name longer than 200 characters")
        email = self._get(record, "email") or None
        if email is not None and ("@" not in email or len(email) > 320 or " " in email):
            raise ValueError(f"bad email {email!r}")
        zone = self._get(record, "timezone") or None
        if zone is not None and zone not in self.zones:
            raise ValueError(f"unknown time zone {zone!r}")
        custom: dict[str, Any] = {}
        for target in self.index:
            if not target.startswith("field:"):
                continue
            definition = self.fields.get(target[6:])
            if definition is None:
                continue
            try:
                value = coerce_value(definition, self._get(record, target))
            except SettingsError as exc:
                raise ValueError(str(exc)) from exc
            if value is not None:
                custom[definition.key] = value
        return number, {"name": name, "email": email, "timezone": zone, "fields": custom}


def import_stream(
    sessions: sessionmaker[Session],
    *,
    job_id: int,
    stream: BinaryIO,
    batch_size: int = BATCH_SIZE,
) -> None:
    """Import the CSV in ``stream`` for job ``job_id`` (its mapping set), committing each batch
    with the job's counters. Rows with problems become :class:`ImportRowError` rows."""
    with sessions() as session:
        job = session.get(ImportJob, job_id)
        if job is None:
            raise LookupError(f"no import job {job_id}")
        columns, mapping = list(job.columns), dict(job.mapping)
        reader_of_rows = _RowReader(columns, mapping, session)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    records = csv.reader(text)
    next(records, None)  # the header, read at upload
    batch = _Batch()
    for line, record in _numbered(records):
        if not any(cell.strip() for cell in record):
            continue  # a blank line is not a contact, nor an error
        batch.read += 1
        try:
            number, values = reader_of_rows.parse(record)
        except ValueError as exc:
            batch.errors.append((line, str(exc)))
        else:
            first = batch.lines_by_number.get(number)
            if first is not None:
                batch.errors.append((line, f"duplicate: {number} is also on line {first}"))
            else:
                batch.lines_by_number[number] = line
                batch.rows.append(_Row(line, number, values))
        if batch.read >= batch_size:
            _commit_batch(sessions, job_id, batch, _position(stream))
            batch = _Batch()
    _commit_batch(sessions, job_id, batch, _position(stream))


def _numbered(records: Any) -> Iterator[tuple[int, list[str]]]:
    """Each record with the line it starts on (a quoted field may span lines)."""
    start = records.line_num + 1
    for record in records:
        yield start, record
        start = records.line_num + 1


def _position(stream: BinaryIO) -> int:
    try:
        return stream.tell()
    except (OSError, ValueError):
        return 0


def _commit_batch(
    sessions: sessionmaker[Session], job_id: int, batch: _Batch, position: int
) -> None:
    with sessions() as session:
        imported = 0
        if batch.rows:
            taken = dict(
                session.execute(
                    select(ContactNumber.number, ContactNumber.contact_id).where(
                        ContactNumber.number.in_([row.number for row in batch.rows])
                    )
                ).all()
            )
            fresh = []
            for row in batch.rows:
                if row.number in taken:
                    batch.errors.append(
                        (
                            row.line,
                            f"duplicate: {row.number} already belongs to contact "
                            f"{taken[row.number]}",
                        )
                    )
                else:
                    fresh.append(row)
            imported = _insert(session, fresh, batch.errors)
        if batch.errors:
            session.execute(
                insert(ImportRowError),
                [{"job_id": job_id, "line": line, "message": msg} for line, msg in batch.errors],
            )
        session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id)
            .values(
                rows_read=ImportJob.rows_read + batch.read,
                imported=ImportJob.imported + imported,
                failed=ImportJob.failed + len(batch.errors),
                bytes_read=position,
            )
        )
        session.commit()


def _insert(session: Session, rows: list[_Row], errors: list[tuple[int, str]]) -> int:
    """Insert contacts and their numbers in two statements; if another writer took a number
    meanwhile (a unique index says so), fall back to one row at a time for this batch."""
    if not rows:
        return 0
    try:
        with session.begin_nested():
            _insert_many(session, rows)
        return len(rows)
    except IntegrityError:
        log.info("import batch met a concurrent writer; inserting its rows one by one")
    count = 0
    for row in rows:
        try:
            with session.begin_nested():
                _insert_many(session, [row])
            count += 1
        except IntegrityError:
            errors.append((row.line, f"duplicate: {row.number} already belongs to a contact"))
    return count


def _insert_many(session: Session, rows: list[_Row]) -> None:
    now = utcnow()
    contact_ids = session.scalars(
        insert(Contact).returning(Contact.id, sort_by_parameter_order=True),
        [{**row.values, "opted_out": False, "created_at": now, "updated_at": now} for row in rows],
    ).all()
    session.execute(
        insert(ContactNumber),
        [
            {"contact_id": contact_id, "number": row.number, "label": "mobile"}
            for contact_id, row in zip(contact_ids, rows, strict=True)
        ],
    )


def run_import(
    sessions: sessionmaker[Session], job_id: int, *, batch_size: int = BATCH_SIZE
) -> None:
    """Run a queued import to the end (the settings page starts this in the background),
    then delete the uploaded file. A crash marks the job failed with the reason."""
    with sessions() as session:
        job = session.get(ImportJob, job_id)
        if job is None or job.status != ImportStatus.QUEUED:
            return
        job.status, job.started_at = ImportStatus.RUNNING, utcnow()
        path = Path(job.path)
        session.commit()
    status, error = ImportStatus.DONE, ""
    try:
        with path.open("rb") as stream:
            import_stream(sessions, job_id=job_id, stream=stream, batch_size=batch_size)
    except Exception as exc:  # the page must show why, not spin forever
        log.exception("import %s failed", job_id)
        status, error = ImportStatus.FAILED, f"{type(exc).__name__}: {exc}"
    finally:
        path.unlink(missing_ok=True)
    with sessions() as session:
        job = session.get(ImportJob, job_id)
        if job is not None:
            job.status, job.error, job.finished_at = status, error[:2000], utcnow()
            audit.record(
                session,
                actor_id=job.created_by_id,
                action="import.finish",
                target=job.filename,
                details={
                    "job_id": job_id,
                    "status": status,
                    "imported": job.imported,
                    "failed": job.failed,
                },
            )
            session.commit()


def row_errors(session: Session, job_id: int, *, limit: int = 200) -> list[ImportRowError]:
    """The first ``limit`` rejected rows of a job, by line."""
    return list(
        session.scalars(
            select(ImportRowError)
            .where(ImportRowError.job_id == job_id)
            .order_by(ImportRowError.line)
            .limit(limit)
        )
    )
