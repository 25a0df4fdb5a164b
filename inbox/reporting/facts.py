"""Writing the reporting table: one row per event, ignored when it is there already.

Two writers: the message services (a message in, a message out: :func:`record_message`) and
the store step that writes the workflow's clocks (opened, first response, closed, reopened, a
human reply's wait: :func:`record_clock_changes`, from the row's clocks before and after).
Each event has a key of its own, so writing it twice (a retried activity) counts it once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from inbox.contracts import BusinessHours, Clocks, Direction, as_utc
from inbox.models import Conversation, Inbox, Message, ReportFact
from inbox.reporting import days
from inbox.reporting.kinds import FactKind
from inbox.rules.hours import open_seconds_between

__all__ = ["FactKind", "record", "record_clock_changes", "record_message"]


def record(
    session: Session,
    *,
    conversation: Conversation,
    kind: FactKind,
    key: str,
    at: datetime,
    seconds: int | None = None,
) -> None:
    """Insert one fact with the conversation's inbox, assignee and channel now, and add it to
    its day's row (``days.add``); a fact with the same (conversation, kind, key) already stored
    is left as it is and not counted again.

    A fact with ``seconds`` (a wait that ended ``at``) also gets its business seconds: how
    much of ``[at - seconds, at)`` the conversation's inbox was open, with its hours now
    (an inbox without hours counts every second but its holidays')."""
    business = None if seconds is None else _open_seconds(session, conversation, at, seconds)
    values: dict[str, Any] = {
        "conversation_id": conversation.id,
        "kind": str(kind),
        "event_key": key,
        "at": as_utc(at),
        "inbox_id": conversation.inbox_id,
        "assignee_id": conversation.assignee_id,
        "channel_id": conversation.channel_id,
        "seconds": seconds,
        "business_seconds": business,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(ReportFact).values(**values).on_conflict_do_nothing()
    inserted = session.scalar(statement.returning(ReportFact.id))
    if inserted is not None:  # a new event (not one written before): its day counts it
        days.add(session, kind=kind, day=values["at"].date(),
                 inbox_id=conversation.inbox_id, assignee_id=conversation.assignee_id,
                 channel_id=conversation.channel_id, seconds=seconds,
                 business_seconds=business)  # fmt: skip


def _open_seconds(session: Session, conversation: Conversation, at: datetime, seconds: int) -> int:
    end = as_utc(at)
    # By id, as the fact's inbox_id: a relationship loaded before a move may be stale.
    hours = BusinessHours.of(session.get(Inbox, conversation.inbox_id))
    return open_seconds_between(hours.schedule, hours.timezone, end - timedelta(seconds=seconds),
                                end, hours.holidays)  # fmt: skip


def record_message(session: Session, conversation: Conversation, message: Message) -> None:
    """A message counted in (received) or out (handed over for sending, auto-replies too)."""
    kind = FactKind.MESSAGE_IN if message.direction == Direction.INBOUND else FactKind.MESSAGE_OUT
    record(session, conversation=conversation, kind=kind, key=str(message.id),
           at=message.created_at)  # fmt: skip


def _key(at: datetime) -> str:
    return as_utc(at).isoformat()


def _utc(at: datetime | None) -> datetime | None:
    return None if at is None else as_utc(at)


def record_clock_changes(
    session: Session, conversation: Conversation, before: Clocks, after: Clocks, now: datetime
) -> None:
    """The facts a clock write implies: what changed from ``before`` (the row's clocks) to
    ``after`` (the workflow's)."""
    if before.first_inbound_at is None and before.last_outbound_at is None:
        started = [at for at in (after.first_inbound_at, after.last_outbound_at) if at]
        if started:
            record(session, conversation=conversation, kind=FactKind.OPENED, key="opened",
                   at=min(as_utc(at) for at in started))  # fmt: skip
    if (
        before.first_response_at is None
        and after.first_response_at is not None
        and after.time_to_first_response_seconds is not None
    ):
        record(session, conversation=conversation, kind=FactKind.FIRST_RESPONSE,
               key="first_response", at=after.first_response_at,
               seconds=after.time_to_first_response_seconds)  # fmt: skip
    closed_before, closed_after = _utc(before.closed_at), _utc(after.closed_at)
    # A spam mark stops the clocks too but has no time to close: it is no close.
    closes = closed_after is not None and closed_after != closed_before
    if closes and closed_after is not None and after.time_to_close_seconds is not None:
        record(session, conversation=conversation, kind=FactKind.CLOSED,
               key=_key(closed_after), at=closed_after,
               seconds=after.time_to_close_seconds)  # fmt: skip
    if closed_before is not None and closed_after is None and before.time_to_close_seconds:
        # One reopening per close, keyed by the close it undoes.
        record(session, conversation=conversation, kind=FactKind.REOPENED,
               key=_key(closed_before), at=now)  # fmt: skip
    replied_before, replied_after = _utc(before.last_response_at), _utc(after.last_response_at)
    if replied_after is not None and (replied_before is None or replied_after > replied_before):
        waited_since = _first_unanswered(session, conversation.id, replied_before, replied_after)
        if waited_since is not None:
            record(session, conversation=conversation, kind=FactKind.REPLY,
                   key=_key(replied_after), at=replied_after,
                   seconds=max(0, int((replied_after - waited_since).total_seconds())))  # fmt: skip


def _first_unanswered(
    session: Session, conversation_id: int, after: datetime | None, until: datetime
) -> datetime | None:
    """The oldest message the contact sent since the previous human reply (``after``) up to
    this one: the reply answers it, and its wait runs from there (at write time, once per
    reply; reports never read messages)."""
    query = select(func.min(Message.created_at)).where(
        Message.conversation_id == conversation_id,
        Message.direction == Direction.INBOUND,
        Message.created_at <= until,
    )
    if after is not None:
        query = query.where(Message.created_at > after)
    found = session.scalar(query)
    return None if found is None else as_utc(found)
