"""Send later: a person's message stored now that goes at a chosen time.

It is a held message (``messages.status`` ``held``, ``held_until`` the chosen time): the path
quiet-hours holds take (``inbox/services/outbound.py``, the workflow's ``Holds`` in
``workflows/consent.py``, the release step in ``activities/store.py``), so when it goes consent
and quiet hours are checked as for any held message, and a cancel is the held message's cancel.
What this module adds is reading the chosen time and changing a scheduled message before it goes.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from inbox.contracts import SIGNAL_MESSAGE_HELD, ConversationEvent, as_utc
from inbox.models import Conversation, Message, MessageStatus, utcnow
from inbox.relay import enqueue_conversation_signal
from inbox.services.outbound import MAX_BODY_CHARS, publish_message_update


class ScheduleError(ValueError):
    """The time or the change is refused, in words an agent understands."""


def inbox_time(conversation: Conversation, value: str | datetime, now: datetime) -> datetime:
    """An ISO time (or a datetime) in the future; one without a zone is the inbox's time, as
    the browser's picker sends it. Raises :class:`ScheduleError`."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise ScheduleError("Pick a date and time (ISO 8601)") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(conversation.inbox.timezone or "UTC"))
    when = as_utc(value)
    if when <= now:
        raise ScheduleError("Pick a time in the future")
    return when


def is_scheduled(message: Message) -> bool:
    """A person's message waiting for its time (not one a rule held for quiet hours)."""
    return message.status == MessageStatus.HELD and not message.automated


def reschedule(session: Session, *, message: Message, body: str, send_at: datetime) -> None:
    """Change the text and the time of a scheduled message that has not gone; its workflow
    re-arms the hold at the new time. Raises :class:`ScheduleError`."""
    if not is_scheduled(message) or message.conversation_id is None:
        raise ScheduleError(f"message {message.id} is {message.status}, not scheduled")
    if not body.strip():
        raise ScheduleError("The message is empty")
    if len(body) > MAX_BODY_CHARS:
        raise ScheduleError(
            f"the message is {len(body)} characters long; the limit is {MAX_BODY_CHARS}"
        )
    message.body = body
    message.held_until = send_at
    publish_message_update(session, message)
    now = utcnow()
    enqueue_conversation_signal(
        session,
        message.conversation_id,
        SIGNAL_MESSAGE_HELD,
        # A key of its own: the first ``held-<id>`` was handled already.
        ConversationEvent(
            key=f"rescheduled-{message.id}-{int(now.timestamp() * 1000)}",
            at=now,
            message_id=message.id,
            held_until=send_at,
        ),
    )
