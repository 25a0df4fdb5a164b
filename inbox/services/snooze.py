"""Snooze: an agent puts a conversation away until a time, until the inbox's next morning, or
until the contact replies; it then comes back, unread for its assignee.

The row's ``snoozed_until`` is what the views read (a snoozed conversation is in the Snoozed
view, not the open ones); the workflow keeps the same deadline as a durable timer
(``workflows/snooze.py``) and wakes the conversation through :func:`wake`. "Until the contact
replies" is the far-future ``SNOOZE_UNTIL_REPLY``: it never falls due, and the inbound path
ends it (:func:`end_on_reply`).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from inbox import live
from inbox.contracts import (
    SIGNAL_SNOOZED,
    SIGNAL_UNSNOOZED,
    SNOOZE_UNTIL_REPLY,
    ConversationEvent,
    as_utc,
)
from inbox.models import (
    ContactEvent,
    Conversation,
    ConversationRead,
    ConversationStatus,
    EventKind,
    User,
    utcnow,
)
from inbox.relay import enqueue_conversation_signal
from inbox.rules.hours import next_open
from inbox.services.scheduled import ScheduleError, inbox_time

# When "tomorrow morning" is for an inbox without opening hours (its own time zone).
DEFAULT_MORNING = time(9, 0)


class SnoozeError(ValueError):
    """The snooze is refused (a closed conversation, a time in the past …)."""


def tomorrow_morning(conversation: Conversation, now: datetime) -> datetime:
    """The inbox's first opening from tomorrow on (09:00 there if it keeps no hours or is
    open at midnight)."""
    inbox = conversation.inbox
    zone = ZoneInfo(inbox.timezone or "UTC")
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    midnight = datetime.combine(tomorrow, time(0, 0), tzinfo=zone)
    opens = next_open(inbox.business_hours or {}, inbox.timezone, midnight)
    # No hours (always open), or open through the night: midnight is no "morning".
    if opens is None or opens == midnight:
        opens = datetime.combine(tomorrow, DEFAULT_MORNING, tzinfo=zone)
    return as_utc(opens)


def parse_until(conversation: Conversation, value: str, now: datetime) -> datetime:
    """``"tomorrow"``, ``"reply"`` or an ISO time (with a zone; a naive one is taken in the
    inbox's time zone, as the browser's picker sends it). Raises :class:`SnoozeError`."""
    value = value.strip()
    if value == "tomorrow":
        return tomorrow_morning(conversation, now)
    if value == "reply":
        return SNOOZE_UNTIL_REPLY
    try:
        return inbox_time(conversation, value, now)
    except ScheduleError as exc:
        raise SnoozeError(
            f"{exc}: snooze until a time, \u201ctomorrow\u201d or \u201creply\u201d"
        ) from exc


def describe(conversation: Conversation, until: datetime) -> str:
    """``until the contact replies`` or ``until Tue 02 Dec, 09:00`` (the inbox's time)."""
    if as_utc(until) >= SNOOZE_UNTIL_REPLY:
        return "until the contact replies"
    zone = ZoneInfo(conversation.inbox.timezone or "UTC")
    return f"until {as_utc(until).astimezone(zone).strftime('%a %d %b, %H:%M')}"


def snooze(
    session: Session, *, conversation: Conversation, until: datetime, actor: User | None
) -> None:
    """Snooze an open conversation until ``until`` (re-snoozing moves the time); ``actor``
    None: an API key."""
    if conversation.status != ConversationStatus.OPEN:
        raise SnoozeError("Only an open conversation can be snoozed")
    conversation.snoozed_until = until
    _log(
        session,
        conversation,
        EventKind.SNOOZED,
        f"Snoozed {describe(conversation, until)} {_by(actor)}",
        SIGNAL_SNOOZED,
        actor_id=actor.id if actor is not None else None,
        until=until,
    )


def unsnooze(session: Session, *, conversation: Conversation, actor: User | None) -> None:
    """End the snooze by hand. Raises :class:`SnoozeError` when it is not snoozed."""
    if conversation.snoozed_until is None:
        raise SnoozeError("The conversation is not snoozed")
    conversation.snoozed_until = None
    _log(
        session,
        conversation,
        EventKind.UNSNOOZED,
        f"Back from snooze: ended {_by(actor)}",
        SIGNAL_UNSNOOZED,
        actor_id=actor.id if actor is not None else None,
    )


def end_on_reply(session: Session, conversation: Conversation) -> None:
    """The contact wrote: a snooze (timed or until reply) ends now. The workflow ends its own
    timer on the message itself, so no signal is sent."""
    if conversation.snoozed_until is None:
        return
    conversation.snoozed_until = None
    _log(session, conversation, EventKind.UNSNOOZED, "Back from snooze: the contact replied", None)


def wake(session: Session, *, conversation: Conversation, until: datetime) -> bool:
    """The snooze ending at ``until`` fell due: end it, and mark the conversation unread for its
    assignee. False (nothing done) when that snooze was ended or moved meanwhile."""
    if conversation.snoozed_until is None or as_utc(conversation.snoozed_until) != as_utc(until):
        return False
    conversation.snoozed_until = None
    if conversation.assignee_id is not None and conversation.status == ConversationStatus.OPEN:
        read = session.get(ConversationRead, (conversation.assignee_id, conversation.id))
        if read is None:
            read = ConversationRead(
                user_id=conversation.assignee_id, conversation_id=conversation.id
            )
            session.add(read)
        read.marked_unread = True
    _log(session, conversation, EventKind.UNSNOOZED, "Back from snooze", None)
    return True


def _log(
    session: Session,
    conversation: Conversation,
    kind: EventKind,
    summary: str,
    signal: str | None,
    *,
    actor_id: int | None = None,
    until: datetime | None = None,
) -> None:
    """The timeline entry, the live pages' events and (``signal``) the workflow's signal."""
    now = utcnow()
    event = ContactEvent(
        contact_id=conversation.contact_id,
        conversation_id=conversation.id,
        kind=kind,
        summary=summary,
        data={"until": until.isoformat()} if until is not None else {},
        author_id=actor_id,
        occurred_at=now,
        created_at=now,
    )
    session.add(event)
    session.flush()
    live.publish(
        session,
        live.EVENT_CREATED,
        conversation_id=conversation.id,
        inbox_id=conversation.inbox_id,
        data={"event_id": event.id, "contact_id": conversation.contact_id, "kind": kind},
    )
    live.publish(
        session,
        live.CONVERSATION_UPDATED,
        conversation_id=conversation.id,
        inbox_id=conversation.inbox_id,
        data={"event_id": event.id, "snoozed_until": _iso(conversation.snoozed_until)},
    )
    if signal is not None:
        enqueue_conversation_signal(
            session,
            conversation.id,
            signal,
            ConversationEvent(key=f"{kind}-{event.id}", at=now, snoozed_until=until),
        )


def _by(actor: User | None) -> str:
    return f"by {actor.name}" if actor is not None else "through the API"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
