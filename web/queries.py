"""The queries behind the inbox screens: who sees what, the views, unread state, timelines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from fastapi import HTTPException
from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, true
from sqlalchemy.orm import Session, joinedload

from inbox.models import (
    Contact,
    ContactEvent,
    ContactNumber,
    Conversation,
    ConversationRead,
    ConversationStatus,
    Direction,
    EventKind,
    Inbox,
    Message,
    User,
    inbox_members,
    utcnow,
)
from inbox.services import visibility as visibility_rules
from inbox.services.tags import has_tag
from web.auth import is_manager
from web.search import search_clause, split_tag_filter, walks


class View(StrEnum):
    ALL_OPEN = "all"
    MY_OPEN = "mine"
    MY_UNREAD = "unread"
    UNASSIGNED = "unassigned"
    CLOSED = "closed"
    SPAM = "spam"
    SNOOZED = "snoozed"


VIEW_LABELS: dict[View, str] = {
    View.ALL_OPEN: "All open",
    View.MY_OPEN: "My open",
    View.MY_UNREAD: "My unread",
    View.UNASSIGNED: "Unassigned",
    View.CLOSED: "Closed",
    View.SPAM: "Spam",
    View.SNOOZED: "Snoozed",
}


class Sort(StrEnum):
    NEWEST = "newest"  # newest message first
    ADDED = "added"  # order added (oldest conversation first)
    DUE = "due"  # the SLA deadline due soonest first (overdue ones first); none last


def parse_view(value: str | None) -> View:
    """A view from a query parameter; an unknown value means All open."""
    try:
        return View(value or View.ALL_OPEN)
    except ValueError:
        return View.ALL_OPEN


def parse_sort(value: str | None) -> Sort:
    """A sort from a query parameter; an unknown value means newest first."""
    try:
        return Sort(value or Sort.NEWEST)
    except ValueError:
        return Sort.NEWEST


def member_inbox_ids(session: Session, user: User) -> list[int]:
    """The inboxes ``user`` belongs to (see :func:`inbox.services.visibility.member_inbox_ids`)."""
    return sorted(visibility_rules.member_inbox_ids(session, user.id))


def visible_inboxes(session: Session, user: User) -> list[Inbox]:
    """Inboxes the user may pick in filters and move conversations to."""
    query = select(Inbox).order_by(Inbox.name)
    if not is_manager(user):
        query = query.join(inbox_members, inbox_members.c.inbox_id == Inbox.id).where(
            inbox_members.c.user_id == user.id
        )
    return list(session.scalars(query))


def scope(session: Session, user: User) -> visibility_rules.Scope:
    """What ``user`` may see (the domain's one visibility rule)."""
    return visibility_rules.scope_for_user(session, user)


def visibility(session: Session, user: User) -> ColumnElement[bool]:
    """The conversations ``user`` may see, as a condition (see :mod:`inbox.services.visibility`)."""
    return visibility_rules.conversations(scope(session, user))


def unread_clause(user_id: int) -> ColumnElement[bool]:
    """True for a conversation ``user_id`` has not read (a newer inbound, or marked unread).

    Two index seeks per conversation: the user's read mark (-1 when marked unread) against the
    conversation's newest inbound message id (0 when none).
    """
    read_mark = (
        select(
            case(
                (ConversationRead.marked_unread.is_(True), -1),
                else_=ConversationRead.last_read_message_id,
            )
        )
        .where(
            ConversationRead.user_id == user_id,
            ConversationRead.conversation_id == Conversation.id,
        )
        .correlate(Conversation)
        .scalar_subquery()
    )
    newest_inbound = (
        select(func.max(Message.id))
        .where(Message.conversation_id == Conversation.id, Message.direction == Direction.INBOUND)
        .correlate(Conversation)
        .scalar_subquery()
    )
    return func.coalesce(read_mark, 0) < func.coalesce(newest_inbound, 0)


def view_clause(view: View, user: User) -> ColumnElement[bool]:
    """The condition that defines one of the left panel's views."""
    # A snoozed conversation is away until it comes back: only the Snoozed view lists it.
    is_open = and_(
        Conversation.status == ConversationStatus.OPEN, Conversation.snoozed_until.is_(None)
    )
    if view is View.SNOOZED:
        return and_(
            Conversation.status == ConversationStatus.OPEN, Conversation.snoozed_until.isnot(None)
        )
    if view is View.MY_OPEN:
        return and_(is_open, Conversation.assignee_id == user.id)
    if view is View.MY_UNREAD:
        return and_(is_open, Conversation.assignee_id == user.id, unread_clause(user.id))
    if view is View.UNASSIGNED:
        return and_(is_open, Conversation.assignee_id.is_(None))
    if view is View.CLOSED:
        return Conversation.status == ConversationStatus.CLOSED
    if view is View.SPAM:
        return Conversation.status == ConversationStatus.SPAM
    return is_open


@dataclass
class ListQuery:
    """What the left panel, the list view and the card view ask for."""

    view: View = View.ALL_OPEN
    sort: Sort = Sort.NEWEST
    inbox_id: int | None = None
    q: str = ""
    tag: str = ""  # normalised (``inbox.services.tags.normalise``); "" for no tag filter

    def params(self, **override: Any) -> dict[str, Any]:
        """Query parameters that reproduce this query (for links and paging)."""
        values: dict[str, Any] = {"view": self.view.value, "sort": self.sort.value, "q": self.q}
        if self.inbox_id:
            values["inbox"] = self.inbox_id
        if self.tag:
            values["tag"] = self.tag
        values.update(override)
        return {key: value for key, value in values.items() if value not in ("", None)}


def filtered(session: Session, user: User, query: ListQuery, *, walk: bool = True) -> Select[Any]:
    """Conversations matching the view, inbox filter and search, that ``user`` may see.

    ``walk=False`` for a caller that sorts by a column no index of the views serves (see
    :func:`web.search.search_clause`)."""
    stmt = select(Conversation).where(view_clause(query.view, user))
    if query.view not in (View.MY_OPEN, View.MY_UNREAD):  # assigned to the user: always visible
        stmt = stmt.where(visibility(session, user))
    if query.inbox_id:
        stmt = stmt.where(Conversation.inbox_id == query.inbox_id)
    search_tag, text = split_tag_filter(query.q)
    for tag in sorted({query.tag, search_tag} - {""}):
        stmt = stmt.where(has_tag(session, tag))
    if text:
        stmt = stmt.where(search_clause(session, text, walk=walk))
    return stmt


def order(stmt: Select[Any], sort: Sort) -> Select[Any]:
    """Apply a sort; ties broken by id so paging is stable."""
    if sort is Sort.ADDED:
        return stmt.order_by(Conversation.created_at, Conversation.id)
    if sort is Sort.DUE:
        due = Conversation.sla_due_at
        return stmt.order_by(due.is_(None), due, Conversation.id)
    return stmt.order_by(Conversation.last_message_at.desc(), Conversation.id.desc())


@dataclass(frozen=True, slots=True)
class ConversationRow:
    """What a list item, a table row or a card shows of a conversation."""

    id: int
    contact_name: str  # the contact's name, else their first number (``Contact.display_name``)
    contact_number: str
    status: str
    inbox_name: str
    assignee_name: str | None
    last_message_at: datetime
    last_message_preview: str
    created_at: datetime
    time_to_first_response_seconds: int | None
    unread: bool  # for the user the list is for
    awaiting_reply: bool  # open, and the contact wrote after the last reply a person sent
    tags: tuple[str, ...] = ()
    # The running SLA deadline due first (its badge), if any.
    sla_target: str | None = None
    sla_at_risk_at: datetime | None = None
    sla_due_at: datetime | None = None


def awaiting_reply_clause() -> ColumnElement[bool]:
    """An open conversation whose contact wrote after the last reply a person sent (an
    auto-reply does not answer them)."""
    return and_(
        Conversation.status == ConversationStatus.OPEN,
        Conversation.last_inbound_at.is_not(None),
        or_(
            Conversation.last_response_at.is_(None),
            Conversation.last_response_at < Conversation.last_inbound_at,
        ),
    )


def conversation_rows(session: Session, user: User, stmt: Select[Any]) -> list[ConversationRow]:
    """Run ``stmt`` (from :func:`filtered`, ordered and paged) for just the columns the lists
    show, with each row's unread state for ``user``: one query with its joins, no ORM objects
    (a page of full conversations, contacts and users cost more in Python than the query)."""
    first_number = (
        select(ContactNumber.number)
        .where(ContactNumber.contact_id == Contact.id)
        .order_by(ContactNumber.id)
        .limit(1)
        .correlate(Contact)
        .scalar_subquery()
    )
    named = case((Contact.name != "", Contact.name), else_=first_number)
    stmt = (
        stmt.with_only_columns(
            Conversation.id,
            named,
            Conversation.contact_number,
            Conversation.status,
            Inbox.name,
            User.name,
            Conversation.last_message_at,
            Conversation.last_message_preview,
            Conversation.created_at,
            Conversation.time_to_first_response_seconds,
            Conversation.contact_id,
            unread_clause(user.id),
            awaiting_reply_clause(),
            Conversation.tags,
            Conversation.sla_target,
            Conversation.sla_at_risk_at,
            Conversation.sla_due_at,
            maintain_column_froms=False,
        )
        .join(Contact, Contact.id == Conversation.contact_id)
        .join(Inbox, Inbox.id == Conversation.inbox_id)
        .outerjoin(User, User.id == Conversation.assignee_id)
    )
    return [
        ConversationRow(
            id=row[0],
            contact_name=row[1] or f"Contact {row[10]}",
            contact_number=row[2],
            status=row[3],
            inbox_name=row[4],
            assignee_name=row[5],
            last_message_at=row[6],
            last_message_preview=row[7],
            created_at=row[8],
            time_to_first_response_seconds=row[9],
            unread=bool(row[11]),
            awaiting_reply=bool(row[12]),
            tags=tuple(row[13] or ()),
            sla_target=row[14],
            sla_at_risk_at=row[15],
            sla_due_at=row[16],
        )
        for row in session.execute(stmt)
    ]


def list_conversations(
    session: Session, user: User, query: ListQuery, *, limit: int = 50, offset: int = 0
) -> list[ConversationRow]:
    """One page of conversations for the left panel and the card view."""
    # No index of the views serves the SLA order: a search then sorts its matches.
    walk = query.sort is not Sort.DUE
    stmt = order(filtered(session, user, query, walk=walk), query.sort).limit(limit).offset(offset)
    return conversation_rows(session, user, stmt)


COUNT_CAP = 1000  # a search for a common word counts this far ("1,000+")


@dataclass(frozen=True, slots=True)
class Count:
    """How many conversations match; ``capped``: at least ``value``, counting stopped there."""

    value: int
    capped: bool = False


def count_conversations(session: Session, user: User, query: ListQuery) -> Count:
    """How many conversations the query matches (for paging). A search for a common word
    (:func:`web.search.walks`) stops counting past ``COUNT_CAP``: an exact count would have to
    collect every match, the cost the search avoids."""
    stmt = filtered(session, user, query).order_by(None)
    text = split_tag_filter(query.q)[1]
    if text and walks(session, text):
        capped = stmt.with_only_columns(Conversation.id).limit(COUNT_CAP + 1).subquery()
        found = int(session.scalar(select(func.count()).select_from(capped)) or 0)
        return Count(min(found, COUNT_CAP), capped=found > COUNT_CAP)
    return Count(int(session.scalar(stmt.with_only_columns(func.count())) or 0))


UNREAD_BADGE_CAP = 99  # the badge shows "99+" beyond this, so counting can stop there


def my_unread_count(session: Session, user: User) -> int:
    """The badge on My unread: the count, or ``UNREAD_BADGE_CAP + 1`` when there are more."""
    # My views need no visibility test: a conversation assigned to the user is always visible.
    # In the order of the (assignee, status, last message, id) index, so PostgreSQL walks it
    # and stops at the cap instead of first collecting all the user's open conversations.
    capped = (
        order(select(Conversation.id).where(view_clause(View.MY_UNREAD, user)), Sort.NEWEST)
        .limit(UNREAD_BADGE_CAP + 1)
        .subquery()
    )
    return int(session.scalar(select(func.count()).select_from(capped)) or 0)


def get_conversation(session: Session, user: User, conversation_id: int) -> Conversation:
    """A conversation the user may see; 404 otherwise (no hint that it exists)."""
    stmt = (
        select(Conversation)
        .where(Conversation.id == conversation_id, visibility(session, user))
        .options(
            joinedload(Conversation.contact).selectinload(Contact.numbers),
            joinedload(Conversation.inbox),
            joinedload(Conversation.channel),
            joinedload(Conversation.assignee),
        )
    )
    conversation = session.scalars(stmt).unique().one_or_none()
    if conversation is None:
        raise HTTPException(status_code=404, detail="Conversation not found")
    return conversation


def _read_row(session: Session, user_id: int, conversation_id: int) -> ConversationRead:
    row = session.get(ConversationRead, (user_id, conversation_id))
    if row is None:
        row = ConversationRead(user_id=user_id, conversation_id=conversation_id)
        session.add(row)
    return row


def mark_read(
    session: Session, *, user: User, conversation: Conversation, keep_marked_unread: bool = False
) -> None:
    """Record that ``user`` has read everything in ``conversation`` so far.

    ``keep_marked_unread``: a live refresh of an open page is not the agent opening the
    conversation again, so it leaves a conversation they marked unread as it is.
    """
    row = _read_row(session, user.id, conversation.id)
    if keep_marked_unread and row.marked_unread:
        return
    latest = session.scalar(
        select(func.max(Message.id)).where(Message.conversation_id == conversation.id)
    )
    row.last_read_message_id = max(row.last_read_message_id or 0, latest or 0)
    row.marked_unread = False
    row.read_at = utcnow()


def mark_unread(session: Session, *, user: User, conversation: Conversation) -> None:
    """Mark ``conversation`` unread for ``user``. A closed conversation cannot be (ValueError)."""
    if conversation.status != ConversationStatus.OPEN:
        raise ValueError("Only an open conversation can be marked unread")
    row = _read_row(session, user.id, conversation.id)
    row.marked_unread = True


@dataclass
class TimelineItem:
    """A message or an event, in the order they happened."""

    at: datetime
    message: Message | None = None
    event: ContactEvent | None = None


def timeline(session: Session, conversation: Conversation) -> list[TimelineItem]:
    """Messages and events of a conversation, oldest first."""
    messages = session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation.id)
        .options(joinedload(Message.author))
        .order_by(Message.id)
    )
    events = session.scalars(
        select(ContactEvent)
        .where(ContactEvent.conversation_id == conversation.id)
        .order_by(ContactEvent.id)
    )
    items = [TimelineItem(at=m.created_at, message=m) for m in messages]
    items += [TimelineItem(at=e.occurred_at, event=e) for e in events]
    # Stable: a message and an event at the same instant keep message-then-event order.
    items.sort(key=lambda item: item.at)
    return items


def contact_conversations(
    session: Session, user: User, contact_id: int, *, exclude: int | None = None
) -> list[Conversation]:
    """The contact's conversations the user may see, newest first."""
    stmt = (
        select(Conversation)
        .where(Conversation.contact_id == contact_id, visibility(session, user))
        .where(Conversation.id != exclude if exclude else true())
        .options(joinedload(Conversation.inbox))
        .order_by(Conversation.last_message_at.desc())
        .limit(50)
    )
    return list(session.scalars(stmt).unique())


def contact_events(
    session: Session, user: User, contact_id: int, *, limit: int = 200
) -> list[ContactEvent]:
    """The contact's log as ``user`` may see it (not the notes and events of conversations in
    inboxes they do not work in), newest first."""
    stmt = (
        select(ContactEvent)
        .where(ContactEvent.contact_id == contact_id, visibility_rules.events(scope(session, user)))
        .order_by(ContactEvent.occurred_at.desc(), ContactEvent.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def notes(items: Sequence[TimelineItem]) -> list[ContactEvent]:
    """The notes among a conversation's timeline items, newest first."""
    found = [item.event for item in items if item.event and item.event.kind == EventKind.NOTE]
    return sorted(found, key=lambda event: event.id, reverse=True)


def assignable_users(session: Session) -> list[User]:
    """Active users, by name, for the assignee picker."""
    return list(session.scalars(select(User).where(User.is_active).order_by(User.name)))
