"""Settings · Compliance: the consent keyword lists, quiet hours, the frequency cap, a person's
record of a consent change, and the consent records an audit asks for."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.consent.keywords import HELP_WORDS, OPT_IN_WORDS, OPT_OUT_WORDS, normalize
from inbox.consent.quiet_hours import DEFAULT_STATE_WINDOWS
from inbox.models import Channel, ComplianceSettings, ConsentRecord, Contact, User
from inbox.phone import normalize_number
from inbox.services.admin import audit
from inbox.services.admin.errors import SettingsError

_STATE_LINE = re.compile(r"^([A-Za-z]{2})\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})$")
MAX_PER_DAY = 100


def current(session: Session) -> ComplianceSettings:
    """The settings row as the form shows it (the defaults filled in)."""
    row = session.get(ComplianceSettings, 1)
    if row is None:
        row = ComplianceSettings(id=1, quiet_start="08:00", quiet_end="21:00", automated_per_day=3)
    return ComplianceSettings(
        id=1,
        opt_out_words=row.opt_out_words or list(OPT_OUT_WORDS),
        opt_in_words=row.opt_in_words or list(OPT_IN_WORDS),
        help_words=row.help_words or list(HELP_WORDS),
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
        state_windows=row.state_windows
        or {code: [f"{a:%H:%M}", f"{b:%H:%M}"] for code, (a, b) in DEFAULT_STATE_WINDOWS.items()},
        automated_per_day=row.automated_per_day,
    )


def _words(field: str, text: str) -> list[str]:
    words = [" ".join(line.split()).upper() for line in text.splitlines() if line.strip()]
    if not words:
        raise SettingsError(f"{field}: list at least one word")
    for word in words:
        if not normalize(word) or len(word) > 64:
            raise SettingsError(f"{field}: {word!r} is not a word a contact can text")
    return list(dict.fromkeys(words))


def _clock(field: str, value: str) -> str:
    try:
        parsed = time.fromisoformat(value.strip())
    except ValueError as exc:
        raise SettingsError(f"{field}: {value!r} is not a time like 08:00") from exc
    return f"{parsed:%H:%M}"


def _states(text: str) -> dict[str, list[str]]:
    windows: dict[str, list[str]] = {}
    for line in (line.strip() for line in text.splitlines()):
        if not line:
            continue
        match = _STATE_LINE.match(line)
        if match is None:
            raise SettingsError(f"state windows: {line!r} is not like 'FL 08:00-20:00'")
        code, start, end = match.groups()
        windows[code.upper()] = [_clock("state windows", start), _clock("state windows", end)]
    return windows


def save(
    session: Session,
    *,
    actor: User,
    opt_out_words: str,
    opt_in_words: str,
    help_words: str,
    quiet_start: str,
    quiet_end: str,
    state_windows: str,
    automated_per_day: int,
) -> ComplianceSettings:
    """Check and store the settings (no commit); every change is in the audit log."""
    if not 0 <= automated_per_day <= MAX_PER_DAY:
        raise SettingsError(f"automated texts a day: 0 to {MAX_PER_DAY}")
    out_words = _words("opt-out words", opt_out_words)
    in_words = _words("opt-in words", opt_in_words)
    help_list = _words("help words", help_words)
    clash = set(out_words) & (set(in_words) | set(help_list))
    if clash:
        raise SettingsError(f"opt-out words: {', '.join(sorted(clash))} is in another list too")
    values: dict[str, object] = {
        "opt_out_words": out_words,
        "opt_in_words": in_words,
        "help_words": help_list,
        "quiet_start": _clock("quiet hours start", quiet_start),
        "quiet_end": _clock("quiet hours end", quiet_end),
        "state_windows": _states(state_windows),
        "automated_per_day": automated_per_day,
    }
    row = session.get(ComplianceSettings, 1)
    if row is None:
        row = ComplianceSettings(id=1)
        session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    audit.record(session, actor_id=actor.id, action="compliance.update", details=values)
    return row


def number_of(raw: str) -> str:
    """A number typed in the form, in E.164 (``SettingsError`` naming the field)."""
    try:
        return normalize_number(raw, field="number")
    except ValueError as exc:
        raise SettingsError(f"number: {exc}") from exc


def recent_records(session: Session, *, limit: int = 100) -> list[ConsentRecord]:
    return list(
        session.scalars(select(ConsentRecord).order_by(ConsentRecord.id.desc()).limit(limit))
    )


EXPORT_HEADER = [
    "at", "number", "action", "method", "keyword", "channel", "message_id", "contact",
    "recorded_by", "note",
]  # fmt: skip


def export_rows(session: Session) -> Iterator[list[str]]:
    """Every consent change, oldest first, as the CSV an audit gets (header first). One query
    with the names joined, read in batches: the file may cover years of opt-outs."""
    yield EXPORT_HEADER
    query = (
        select(ConsentRecord, Channel.name, Contact.name, User.email)
        .outerjoin(Channel, Channel.id == ConsentRecord.channel_id)
        .outerjoin(Contact, Contact.id == ConsentRecord.contact_id)
        .outerjoin(User, User.id == ConsentRecord.actor_id)
        .order_by(ConsentRecord.id)
        .execution_options(yield_per=1000)
    )
    for record, channel, contact, actor in session.execute(query):
        yield [
            record.created_at.isoformat(),
            record.number,
            record.action,
            record.method,
            record.keyword or "",
            channel or "",
            str(record.message_id or ""),
            contact or "",
            actor or "",
            record.note,
        ]


def export_csv(session: Session) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(export_rows(session))
    return out.getvalue()
