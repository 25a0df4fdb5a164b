"""Inboxes (teams): name, default assignee, members, business hours, holidays and time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox.models import Channel, Conversation, Inbox, User
from inbox.services import conversations
from inbox.services.admin import audit
from inbox.services.admin.errors import SettingsError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def list_inboxes(session: Session) -> list[Inbox]:
    """Every inbox, by name."""
    return list(session.scalars(select(Inbox).order_by(Inbox.name)))


def conversation_counts(session: Session) -> dict[int, int]:
    """How many conversations each inbox holds (any status)."""
    rows = session.execute(
        select(Conversation.inbox_id, func.count()).group_by(Conversation.inbox_id)
    ).all()
    return {inbox_id: count for inbox_id, count in rows}


def parse_hours(text_by_day: dict[str, str]) -> dict[str, list[list[str]]]:
    """``{"mon": "09:00-12:00, 13:00-17:00"}`` → ``{"mon": [["09:00", "12:00"], ...]}``.

    A blank day is closed; all days blank means always open (an empty schedule)."""
    schedule: dict[str, list[list[str]]] = {}
    for day in DAYS:
        text = (text_by_day.get(day) or "").strip()
        if not text:
            continue
        spans = []
        for part in text.replace(" ", "").split(","):
            match = _SPAN.match(part)
            if not match or part[:5] >= part[6:]:
                raise SettingsError(
                    f"business hours {day}: {part!r} is not a span like 09:00-17:00",
                    field=f"hours_{day}",
                )
            spans.append([part[:5], part[6:]])
        schedule[day] = spans
    return schedule


def format_hours(schedule: dict[str, Any]) -> dict[str, str]:
    """The inverse of :func:`parse_hours`, for the form."""
    return {day: ", ".join(f"{a}-{b}" for a, b in schedule.get(day, [])) for day in DAYS}


def parse_holidays(text: str) -> list[str]:
    """``"2026-12-25, 2026-12-26"`` (commas, spaces or new lines between) → the ISO dates,
    sorted, each once. A text that is not a real date is refused, naming it."""
    found = set()
    for part in text.replace(",", " ").split():
        try:
            found.add(date.fromisoformat(part).isoformat())
        except ValueError as exc:
            raise SettingsError(
                f"holidays: {part!r} is not a date like 2026-12-25", field="holidays"
            ) from exc
    return sorted(found)


def format_holidays(holidays: list[str]) -> str:
    """The inverse of :func:`parse_holidays`, for the form."""
    return ", ".join(holidays)


# An SLA target longer than a year says nothing a report could use.
MAX_SLA_MINUTES = 366 * 24 * 60
SLA_FIELDS = {
    "first_response": "first response",
    "next_response": "next response",
    "resolution": "resolution",
}


@dataclass(frozen=True)
class SlaTargets:
    """An inbox's SLA targets in minutes (None: no target), as the form gives them."""

    first_response: int | None = None
    next_response: int | None = None
    resolution: int | None = None
    business_hours: bool = False


def parse_sla(text_by_target: dict[str, str], business_hours: bool) -> SlaTargets:
    """``{"first_response": "15", "next_response": "", ...}`` → the targets (blank: none). A
    target that is not a whole number of minutes from 1 to a year is refused, naming it."""
    minutes: dict[str, int | None] = {}
    for target, label in SLA_FIELDS.items():
        text = (text_by_target.get(target) or "").strip()
        if not text:
            minutes[target] = None
            continue
        if not text.isdigit() or not 0 < int(text) <= MAX_SLA_MINUTES:
            raise SettingsError(
                f"SLA {label}: {text!r} is not a number of minutes from 1 to {MAX_SLA_MINUTES}",
                field=f"sla_{target}",
            )
        minutes[target] = int(text)
    return SlaTargets(**minutes, business_hours=business_hours)


def format_sla(inbox: Inbox | None) -> dict[str, str]:
    """The inverse of :func:`parse_sla`, for the form."""
    return {
        target: str(value) if (value := getattr(inbox, f"sla_{target}_minutes", None)) else ""
        for target in SLA_FIELDS
    }


def save_inbox(
    session: Session,
    *,
    inbox: Inbox | None,
    name: str,
    default_assignee_id: int | None,
    member_ids: list[int],
    business_hours: dict[str, list[list[str]]],
    timezone: str,
    holidays: list[str] | None = None,
    sla: SlaTargets | None = None,
    actor_id: int | None = None,
) -> Inbox:
    """Create (``inbox=None``) or update an inbox. The default assignee becomes a member.
    ``holidays`` (ISO dates, see :func:`parse_holidays`) and ``sla`` (see :func:`parse_sla`):
    None keeps them as they are. New SLA targets apply to deadlines that start from now on."""
    name = name.strip()
    if not name or len(name) > 200:
        raise SettingsError("name: 1 to 200 characters", field="name")
    clash = session.scalars(select(Inbox).where(Inbox.name == name)).first()
    if clash is not None and (inbox is None or clash.id != inbox.id):
        raise SettingsError(f"name: an inbox called {name!r} exists already", field="name")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SettingsError(
            f"time zone: {timezone!r} is not a time zone", field="timezone"
        ) from exc
    ids = set(member_ids) | ({default_assignee_id} if default_assignee_id else set())
    members = list(session.scalars(select(User).where(User.id.in_(ids)))) if ids else []
    if len(members) != len(ids):
        raise SettingsError("members: unknown user", field="member_ids")
    if default_assignee_id is not None:
        assignee = next(u for u in members if u.id == default_assignee_id)
        if not assignee.is_active:
            raise SettingsError(
                f"default assignee: {assignee.name} is deactivated", field="default_assignee_id"
            )
    creating = inbox is None
    if inbox is None:
        inbox = Inbox(name=name)
        session.add(inbox)
    before = _snapshot(inbox) if not creating else {}
    inbox.name = name
    inbox.default_assignee_id = default_assignee_id
    inbox.business_hours = business_hours
    inbox.timezone = timezone
    if holidays is not None:
        inbox.holidays = holidays
    if sla is not None:
        inbox.sla_first_response_minutes = sla.first_response
        inbox.sla_next_response_minutes = sla.next_response
        inbox.sla_resolution_minutes = sla.resolution
        inbox.sla_business_hours = sla.business_hours
    inbox.members = sorted(members, key=lambda u: u.id)
    session.flush()
    after = _snapshot(inbox)
    if creating:
        audit.record(session, actor_id=actor_id, action="inbox.create", target=name, details=after)
    else:
        changes = {k: [before[k], after[k]] for k in after if before.get(k) != after[k]}
        if changes:
            audit.record(
                session, actor_id=actor_id, action="inbox.update", target=name, details=changes
            )
    return inbox


def delete_inbox(
    session: Session,
    *,
    inbox: Inbox,
    move_to_id: int | None = None,
    actor_id: int | None = None,
) -> int:
    """Delete an inbox. With conversations in it, refused unless ``move_to_id`` names another
    inbox: each conversation is then moved there (an ``moved`` event and signal each). Channels
    routing to it must be changed first. Returns how many conversations moved."""
    channels = list(session.scalars(select(Channel).where(Channel.default_inbox_id == inbox.id)))
    if channels:
        names = ", ".join(repr(c.name) for c in channels)
        raise SettingsError(
            f"inbox {inbox.name!r} is the default inbox of channel {names}; route the channel "
            "elsewhere first"
        )
    held = list(
        session.scalars(
            select(Conversation).where(Conversation.inbox_id == inbox.id).order_by(Conversation.id)
        )
    )
    if held and move_to_id is None:
        raise SettingsError(
            f"inbox {inbox.name!r} has {len(held)} conversation(s); move them to another inbox "
            "first",
            field="move_to_id",
        )
    if held:
        target = session.get(Inbox, move_to_id)
        if target is None or target.id == inbox.id:
            raise SettingsError("move to: choose another inbox", field="move_to_id")
        for conversation in held:
            conversations.move(
                session, conversation=conversation, inbox_id=target.id, actor_id=actor_id
            )
    audit.record(
        session,
        actor_id=actor_id,
        action="inbox.delete",
        target=inbox.name,
        details={"moved_conversations": len(held), "moved_to_id": move_to_id if held else None},
    )
    session.delete(inbox)
    session.flush()
    return len(held)


def _snapshot(inbox: Inbox) -> dict[str, Any]:
    return {
        "name": inbox.name,
        "default_assignee_id": inbox.default_assignee_id,
        "member_ids": sorted(u.id for u in inbox.members),
        "business_hours": inbox.business_hours,
        "timezone": inbox.timezone,
        "holidays": list(inbox.holidays or []),
        **{f"sla_{t}_minutes": getattr(inbox, f"sla_{t}_minutes") for t in SLA_FIELDS},
        "sla_business_hours": bool(inbox.sla_business_hours),
    }


def inbox_ids_by_name(session: Session, names: list[str]) -> list[int]:
    """The ids of inboxes named ``names`` (case-insensitive); SettingsError naming any unknown."""
    found = {
        inbox.name.lower(): inbox.id
        for inbox in session.scalars(
            select(Inbox).where(func.lower(Inbox.name).in_([n.lower() for n in names]))
        )
    }
    unknown = [name for name in names if name.lower() not in found]
    if unknown:
        raise SettingsError(f"inboxes: no inbox named {', '.join(unknown)}", field="inboxes")
    return [found[name.lower()] for name in names]
