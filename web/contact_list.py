"""The contacts page's query: the contacts a user may see, searched by name, email or the
digits of a number, sorted by name, newest or last message, 50 a page.

One statement per page: each contact's numbers come joined in the same statement (SQLAlchemy
wraps the page's ``LIMIT`` in a subquery and joins the numbers to it) and its last message
time is a correlated subquery over its visible conversations, so a page costs the same
whatever it holds. Every order ends on the contact id, so pages never repeat nor skip a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select, true
from sqlalchemy.orm import Session, joinedload

from inbox.models import Contact, ContactNumber, Conversation
from inbox.services import visibility
from web.search import clean_query, like_pattern, number_digits

PAGE_SIZE = 50


class ContactSort(StrEnum):
    NAME = "name"
    NEWEST = "newest"
    LAST_MESSAGE = "last_message"


SORT_LABELS = {
    ContactSort.NAME: "Name",
    ContactSort.NEWEST: "Newest",
    ContactSort.LAST_MESSAGE: "Last message",
}


def parse_sort(value: str | None) -> ContactSort:
    """The sort of a query string; by name when missing or unknown."""
    try:
        return ContactSort(value or ContactSort.NAME)
    except ValueError:
        return ContactSort.NAME


@dataclass(frozen=True, slots=True)
class ContactRow:
    contact: Contact
    last_message_at: datetime | None


@dataclass(frozen=True, slots=True)
class ContactPage:
    rows: list[ContactRow]
    page: int
    has_next: bool


def matches(query: str) -> ColumnElement[bool]:
    """A condition on ``Contact``: the name or email holds ``query``, or (when it looks like a
    number) one of its numbers holds its digits, whatever their format."""
    text = clean_query(query)
    if not text:
        return true()
    pattern = like_pattern(text)
    found = [Contact.name.ilike(pattern, escape="\\"), Contact.email.ilike(pattern, escape="\\")]
    digits = number_digits(text)
    if digits:
        found.append(
            Contact.id.in_(
                select(ContactNumber.contact_id).where(
                    ContactNumber.number.like(like_pattern(digits), escape="\\")
                )
            )
        )
    return or_(*found)


def _statement(scope: visibility.Scope, query: str, sort: ContactSort) -> Select[Contact, datetime]:
    last_message = (
        select(func.max(Conversation.last_message_at))
        .where(Conversation.contact_id == Contact.id, visibility.conversations(scope))
        .correlate(Contact)
        .scalar_subquery()
    )
    order: list[ColumnElement[Any]]
    if sort is ContactSort.NEWEST:
        order = [Contact.created_at.desc(), Contact.id.desc()]
    elif sort is ContactSort.LAST_MESSAGE:
        order = [last_message.is_(None).asc(), last_message.desc(), Contact.id.desc()]
    else:  # named contacts first, by name (either case), then those known by a number only
        order = [(Contact.name == "").asc(), func.lower(Contact.name), Contact.id.asc()]
    return (
        select(Contact, last_message.label("last_message_at"))
        .where(visibility.contacts(scope), matches(query))
        .options(joinedload(Contact.numbers))
        .order_by(*order)
    )


def list_contacts(
    session: Session, scope: visibility.Scope, *, query: str, sort: ContactSort, page: int
) -> ContactPage:
    """Page ``page`` (from 1) of the contacts ``scope`` may see that match ``query``."""
    page = max(page, 1)
    statement = _statement(scope, query, sort).limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)
    found = session.execute(statement).unique().all()
    rows = [ContactRow(contact=row[0], last_message_at=row[1]) for row in found[:PAGE_SIZE]]
    return ContactPage(rows=rows, page=page, has_next=len(found) > PAGE_SIZE)
