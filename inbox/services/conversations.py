"""Changing a conversation (close, reopen, assign, move, mark spam, start) and logging events.

Every change follows one pattern, in the caller's transaction (nothing here commits):

1. update the ``Conversation`` row (what lists and views show at once);
2. write a ``ContactEvent`` (the contact log and the conversation timeline), with the actor;
3. :func:`inbox.live.publish` it for open pages;
4. enqueue the matching workflow signal through the outbox relay, keyed ``<signal>-<event id>``,
   so the workflow updates its clocks and search attributes exactly once.

The caller commits with :func:`inbox.relay.commit` and sends what it returns at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inbox import live
from inbox.contracts import (
    SIGNAL_ASSIGNED,
    SIGNAL_CLOSED,
    SIGNAL_MARKED_NOT_SPAM,
    SIGNAL_MARKED_SPAM,
    SIGNAL_MOVED,
    SIGNAL_REOPENED,
    Clocks,
    ConversationEvent,
    ConversationState,
)
from inbox.models import (
    Channel,
    Contact,
    ContactEvent,
    Conversation,
    ConversationStatus,
    EventKind,
    Inbox,
    User,
    utcnow,
)
from inbox.relay import enqueue_conversation_signal
from inbox.services import contact_log, visibility

# Kinds written only by the functions below, because each must keep the conversation row and
# its workflow in step (and "merged", by inbox/services/contact_merge.py); add_contact_event
# refuses them.
LIFECYCLE_KINDS = frozenset(
    {
        EventKind.CONVERSATION_STARTED,
        EventKind.CONVERSATION_CLOSED,
        EventKind.CONVERSATION_REOPENED,
        EventKind.ASSIGNED,
        EventKind.MOVED,
        EventKind.MARKED_SPAM,
        EventKind.MARKED_NOT_SPAM,
        EventKind.SMS_SENT,
        EventKind.TAGGED,
        EventKind.UNTAGGED,
        EventKind.MERGED,
        EventKind.SNOOZED,
        EventKind.UNSNOOZED,
        EventKind.SLA,
    }
)
# Kinds that record a change another service made (inbox.services.contact_fields): logging one
# by hand would claim a change that never happened.
CHANGE_KINDS = frozenset(
    {EventKind.FIELD_CHANGED, EventKind.NUMBER_ADDED, EventKind.NUMBER_REMOVED}
)


class ConversationActionError(ValueError):
    """The action is not allowed (reopening an open conversation, an unknown user …).

    ``field`` names the input at fault when there is one (the API answers 422 naming it);
    without it the action conflicts with the conversation's state (the API answers 409).
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def close(
    session: Session,
    *,
    conversation: Conversation,
    actor_id: int | None = None,
    automation: str | None = None,
) -> ContactEvent:
    """Close an open conversation; raises ConversationActionError if it is not open."""
    if conversation.status != ConversationStatus.OPEN:
        raise ConversationActionError(
            f"conversation {conversation.id} is {conversation.status}, only an open one can be "
            "closed"
        )
    conversation.status = ConversationStatus.CLOSED
    event = log_change(
        session,
        conversation,
        EventKind.CONVERSATION_CLOSED,
        "Conversation closed",
        actor_id=actor_id,
        automation=automation,
    )
    conversation.closed_at = event.occurred_at
    _announce(session, conversation, event, SIGNAL_CLOSED, actor_id, automation)
    return event


def reopen(
    session: Session,
    *,
    conversation: Conversation,
    actor_id: int | None = None,
    automation: str | None = None,
) -> ContactEvent:
    """Reopen a closed conversation.

    Refused when it is open already, when it is spam (that is "mark as not spam", which also
    lifts the blocklist), and when the same number already has another open conversation on the
    channel (a number has at most one open conversation per channel).
    """
    if conversation.status != ConversationStatus.CLOSED:
        raise ConversationActionError(
            f"conversation {conversation.id} is {conversation.status}, only a closed one can be "
            "reopened"
        )
    other = open_conversation(session, conversation.channel_id, conversation.contact_number)
    if other is not None:
        raise ConversationActionError(
            f"conversation {other.id} is already open for this number on this channel; "
            f"conversation {conversation.id} cannot be reopened beside it"
        )
    conversation.status = ConversationStatus.OPEN
    conversation.closed_at = None
    event = log_change(
        session,
        conversation,
        EventKind.CONVERSATION_REOPENED,
        "Conversation reopened",
        actor_id=actor_id,
        automation=automation,
    )
    _announce(session, conversation, event, SIGNAL_REOPENED, actor_id, automation)
    return event


def assign(
    session: Session,
    *,
    conversation: Conversation,
    assignee_id: int | None,
    actor_id: int | None = None,
    automation: str | None = None,
) -> ContactEvent:
    """Assign the conversation to an active user, or unassign it with ``assignee_id=None``.

    Allowed whatever the status (a closed conversation keeps an owner for when it reopens).
    Assigning to the current assignee is refused, so the log never shows a change that was none.
    """
    assignee: User | None = None
    if assignee_id is not None:
        assignee = session.get(User, assignee_id)
        if assignee is None or not assignee.is_active:
            raise ConversationActionError(
                f"no active user with id {assignee_id}", field="assignee_id"
            )
    if conversation.assignee_id == assignee_id:
        who = assignee.name if assignee is not None else "nobody"
        raise ConversationActionError(
            f"conversation {conversation.id} is already assigned to {who}"
        )
    previous = conversation.assignee_id
    conversation.assignee_id = assignee_id
    summary = f"Assigned to {assignee.name}" if assignee is not None else "Unassigned"
    event = log_change(
        session,
        conversation,
        EventKind.ASSIGNED,
        summary,
        actor_id=actor_id,
        automation=automation,
        data={"from_assignee_id": previous, "assignee_id": assignee_id},
    )
    _announce(session, conversation, event, SIGNAL_ASSIGNED, actor_id, automation)
    return event


def move(
    session: Session,
    *,
    conversation: Conversation,
    inbox_id: int,
    actor_id: int | None = None,
    automation: str | None = None,
) -> ContactEvent:
    """Move the conversation to another inbox. The assignee stays (use :func:`assign` to change
    it): a rep who moves a lead to another team often keeps it until someone takes it over."""
    inbox = session.get(Inbox, inbox_id)
    if inbox is None:
        raise ConversationActionError(f"no inbox with id {inbox_id}", field="inbox_id")
    if conversation.inbox_id == inbox_id:
        raise ConversationActionError(
            f"conversation {conversation.id} is already in inbox {inbox.name!r}"
        )
    previous = conversation.inbox_id
    conversation.inbox_id = inbox_id
    conversation.inbox = inbox
    event = log_change(
        session,
        conversation,
        EventKind.MOVED,
        f"Moved to {inbox.name}",
        actor_id=actor_id,
        automation=automation,
        data={"from_inbox_id": previous, "inbox_id": inbox_id},
    )
    _announce(session, conversation, event, SIGNAL_MOVED, actor_id, automation)
    # Pages showing the old inbox must drop it from their lists.
    live.publish(
        session,
        live.CONVERSATION_UPDATED,
        conversation_id=conversation.id,
        inbox_id=previous,
        data={"event_id": event.id, "inbox_id": inbox_id, "from_inbox_id": previous},
    )
    return event


def mark_spam(
    session: Session,
    *,
    conversation: Conversation,
    actor_id: int | None = None,
    automation: str | None = None,
) -> ContactEvent:
    """Mark an open or closed conversation as spam (without blocklisting its sender: that is
    :func:`inbox.services.admin.blocklist.mark_spam`, which calls this).

    The workflow hears ``marked_spam``: its clocks stop as on closing, but spam is no
    resolution (no time to close) and fires no ``closed`` rules. ``closed_at`` is kept if it
    was closed already; the status it had is kept in the event's data (``from_status``) so
    :func:`mark_not_spam` can restore it.
    """
    if conversation.status == ConversationStatus.SPAM:
        raise ConversationActionError(f"conversation {conversation.id} is already spam")
    previous = conversation.status
    conversation.status = ConversationStatus.SPAM
    event = log_change(
        session,
        conversation,
        EventKind.MARKED_SPAM,
        "Marked as spam",
        actor_id=actor_id,
        automation=automation,
        data={"from_status": previous},
    )
    if conversation.closed_at is None:
        conversation.closed_at = event.occurred_at
    _announce(session, conversation, event, SIGNAL_MARKED_SPAM, actor_id, automation)
    return event


def mark_not_spam(
    session: Session,
    *,
    conversation: Conversation,
    actor_id: int | None = None,
    automation: str | None = None,
) -> ContactEvent:
    """Restore a spam conversation to the status it had before (open or closed).

    It comes back closed if it was closed, or if its number has meanwhile another open
    conversation on the channel. Reopening signals ``reopened``, coming back closed
    ``marked_not_spam``. This does not touch the
    blocklist: :func:`inbox.services.admin.blocklist.mark_not_spam` lifts it and calls this for
    each of the sender's conversations.
    """
    if conversation.status != ConversationStatus.SPAM:
        raise ConversationActionError(
            f"conversation {conversation.id} is {conversation.status}, not spam"
        )
    marked = session.scalars(
        select(ContactEvent)
        .where(
            ContactEvent.conversation_id == conversation.id,
            ContactEvent.kind == EventKind.MARKED_SPAM,
        )
        .order_by(ContactEvent.id.desc())
        .limit(1)
    ).first()
    wanted = (marked.data or {}).get("from_status") if marked is not None else None
    reopen_it = wanted == ConversationStatus.OPEN and (
        open_conversation(session, conversation.channel_id, conversation.contact_number) is None
    )
    conversation.status = ConversationStatus.OPEN if reopen_it else ConversationStatus.CLOSED
    event = log_change(
        session,
        conversation,
        EventKind.MARKED_NOT_SPAM,
        "Marked as not spam",
        actor_id=actor_id,
        automation=automation,
        data={"to_status": conversation.status},
    )
    if reopen_it:
        conversation.closed_at = None
    signal = SIGNAL_REOPENED if reopen_it else SIGNAL_MARKED_NOT_SPAM
    _announce(session, conversation, event, signal, actor_id, automation)
    return event


# Where a session remembers the conversations it started (see :func:`started_state`).
STARTED_KEY = "inbox.conversations.started"


def row_state(conversation: Conversation) -> ConversationState:
    """The conversation row as workflow state (what the row holds; the message counts and the
    last direction are the loader's to add)."""
    return ConversationState(
        conversation_id=conversation.id,
        status=conversation.status,
        inbox_id=conversation.inbox_id,
        channel_id=conversation.channel_id,
        assignee_id=conversation.assignee_id,
        opened_at=conversation.created_at,
        clocks=Clocks.from_row(conversation),
        # A workflow (re)started from the row keeps the snooze's timer.
        snoozed_until=conversation.snoozed_until,
    )


def started_state(session: Session, conversation: Conversation) -> ConversationState | None:
    """The workflow's first state for a conversation this session started (None otherwise):
    exactly what loading the new row would give, before its first event is applied."""
    if conversation.id not in session.info.get(STARTED_KEY, ()):
        return None
    return row_state(conversation)


def start_conversation(
    session: Session,
    *,
    channel: Channel,
    contact: Contact,
    number: str,
    actor_id: int | None = None,
) -> Conversation:
    """Start a conversation with one of the contact's numbers (E.164) on a channel.

    It lands in the channel's default inbox, assigned to that inbox's default assignee. If the
    number already has an open conversation on the channel this raises (naming it) rather than
    returning it: the caller asked for a *new* conversation and should know it got none.

    No workflow signal is sent: the conversation's workflow starts with its first message (or
    with a close), and then loads this row, unless that message is stored in this same
    transaction: then the signal carries the row as the workflow's first state
    (:func:`started_state`), which saves the workflow a database read.
    """
    if number not in {n.number for n in contact.numbers}:
        raise ConversationActionError(
            f"{number} is not one of contact {contact.id}'s numbers", field="number"
        )
    existing = open_conversation(session, channel.id, number)
    if existing is not None:
        raise ConversationActionError(
            f"conversation {existing.id} is already open for {number} on channel {channel.name!r}"
        )
    inbox = channel.default_inbox
    now = utcnow()
    conversation = Conversation(
        contact_id=contact.id,
        channel_id=channel.id,
        inbox_id=inbox.id,
        contact_number=number,
        assignee_id=inbox.default_assignee_id,
        status=ConversationStatus.OPEN,
        created_at=now,
        last_message_at=now,
    )
    session.add(conversation)
    try:
        session.flush()
    except IntegrityError as exc:
        # Another request started one between our check and this insert (unique partial index).
        raise ConversationActionError(
            f"a conversation is already open for {number} on channel {channel.name!r}"
        ) from exc
    session.info.setdefault(STARTED_KEY, set()).add(conversation.id)
    event = log_change(
        session,
        conversation,
        EventKind.CONVERSATION_STARTED,
        f"Conversation started on {channel.name}",
        actor_id=actor_id,
        automation=None,
        data={"channel_id": channel.id, "number": number},
    )
    live.publish(
        session,
        live.CONVERSATION_CREATED,
        conversation_id=conversation.id,
        inbox_id=conversation.inbox_id,
        data={"event_id": event.id},
    )
    return conversation


def add_contact_event(
    session: Session,
    *,
    contact: Contact,
    kind: str,
    summary: str = "",
    data: dict[str, Any] | None = None,
    conversation: Conversation | None = None,
    author_id: int | None = None,
    automation: str | None = None,
    occurred_at: datetime | None = None,
    scope: visibility.Scope = visibility.EVERYTHING,
) -> ContactEvent:
    """Log an event (a call, a purchase, a note …) in the contact's log.

    It also shows in a conversation's timeline: ``conversation`` if given (it must be the
    contact's), else the contact's open conversation with the newest message among those
    ``scope`` may see, else none (the event is then only in the contact log). Conversation
    lifecycle kinds are refused: they are written by the functions above, which keep the
    conversation and its workflow in step.
    """
    refused = LIFECYCLE_KINDS | CHANGE_KINDS
    if kind not in {k.value for k in EventKind} or kind in refused:
        allowed = sorted(k.value for k in EventKind if k not in refused)
        raise ConversationActionError(
            f"kind {kind!r} cannot be logged; use one of {', '.join(allowed)}", field="kind"
        )
    if occurred_at is not None and occurred_at.tzinfo is None:
        raise ConversationActionError(
            "occurred_at needs a time zone (e.g. 2024-05-01T09:30:00Z)", field="occurred_at"
        )
    if conversation is not None and conversation.contact_id != contact.id:
        raise ConversationActionError(
            f"conversation {conversation.id} does not belong to contact {contact.id}",
            field="conversation_id",
        )
    if conversation is None:
        conversation = session.scalars(
            select(Conversation)
            .where(
                Conversation.contact_id == contact.id,
                Conversation.status == ConversationStatus.OPEN,
                visibility.conversations(scope),
            )
            .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
            .limit(1)
        ).first()
    return contact_log.write(
        session,
        contact=contact,
        conversation=conversation,
        kind=kind,
        summary=summary,
        data=data,
        author_id=author_id,
        automation=automation,
        occurred_at=occurred_at,
    )


def open_conversation(session: Session, channel_id: int, number: str) -> Conversation | None:
    """The number's open conversation on the channel, if any (there is at most one)."""
    return session.scalars(
        select(Conversation).where(
            Conversation.channel_id == channel_id,
            Conversation.contact_number == number,
            Conversation.status == ConversationStatus.OPEN,
        )
    ).first()


def log_change(
    session: Session,
    conversation: Conversation,
    kind: EventKind,
    summary: str,
    *,
    actor_id: int | None,
    automation: str | None,
    data: dict[str, Any] | None = None,
) -> ContactEvent:
    """Write the timeline / contact-log entry, flushed so its id can key the signal."""
    by = _by(session, actor_id, automation)
    now = utcnow()
    event = ContactEvent(
        contact_id=conversation.contact_id,
        conversation_id=conversation.id,
        kind=kind,
        summary=f"{summary} {by}" if by else summary,
        data=data or {},
        author_id=actor_id,
        automation=automation,
        occurred_at=now,
        created_at=now,
    )
    session.add(event)
    session.flush()
    return event


def _by(session: Session, actor_id: int | None, automation: str | None) -> str:
    if automation is not None:
        return f"by automation {automation!r}"
    actor = session.get(User, actor_id) if actor_id is not None else None
    return f"by {actor.name}" if actor is not None else ""


def publish_change(
    session: Session, conversation: Conversation, event: ContactEvent, state: dict[str, Any]
) -> None:
    """Tell live pages of a change to a conversation: its timeline entry, and its new
    ``state`` (what the change moved)."""
    live.publish(
        session,
        live.EVENT_CREATED,
        conversation_id=conversation.id,
        inbox_id=conversation.inbox_id,
        data={"event_id": event.id, "contact_id": conversation.contact_id, "kind": event.kind},
    )
    live.publish(
        session,
        live.CONVERSATION_UPDATED,
        conversation_id=conversation.id,
        inbox_id=conversation.inbox_id,
        data=state,
    )


def _announce(
    session: Session,
    conversation: Conversation,
    event: ContactEvent,
    signal: str,
    actor_id: int | None,
    automation: str | None,
) -> None:
    """Publish the change for live pages and enqueue the workflow's signal."""
    publish_change(
        session,
        conversation,
        event,
        {
            "event_id": event.id,
            "status": conversation.status,
            "inbox_id": conversation.inbox_id,
            "assignee_id": conversation.assignee_id,
        },
    )
    enqueue_conversation_signal(
        session,
        conversation.id,
        signal,
        ConversationEvent(
            key=f"{signal}-{event.id}",
            at=event.occurred_at,
            author_id=actor_id,
            inbox_id=conversation.inbox_id,
            assignee_id=conversation.assignee_id,
            by_automation=automation is not None,
        ),
    )
