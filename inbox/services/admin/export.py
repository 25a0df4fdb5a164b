"""Exporting contacts, and conversations with their messages, as CSV streamed in chunks.

Each generator opens its own session (the response outlives the request's) and reads rows
``yield_per`` at a time, so an export of a million messages holds one chunk in memory.
Cells that a spreadsheet would run as a formula (``=``, ``@``, or ``+``/``-`` not followed by a
number) get a leading ``'`` (OWASP's advice on CSV injection); phone numbers stay as they are.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased, sessionmaker

from inbox.models import (
    Channel,
    Contact,
    ContactNumber,
    Conversation,
    CustomFieldDefinition,
    Inbox,
    Message,
    User,
)
from inbox.models.settings import FieldEntity

CHUNK_ROWS = 500
_NUMERIC = re.compile(r"^[+-]?[\d ().]+$")


def safe_cell(value: Any) -> str:
    """A value as a CSV cell a spreadsheet will not evaluate."""
    text = "" if value is None else value.isoformat() if hasattr(value, "isoformat") else str(value)
    if text[:1] in ("=", "@", "\t", "\r") or (text[:1] in ("+", "-") and not _NUMERIC.match(text)):
        return "'" + text
    return text


def _chunks(header: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for count, row in enumerate(rows, start=1):
        writer.writerow([safe_cell(v) for v in row])
        if count % CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _field_keys(session: Session, entity: str) -> list[str]:
    return list(
        session.scalars(
            select(CustomFieldDefinition.key)
            .where(CustomFieldDefinition.entity == entity)
            .order_by(CustomFieldDefinition.position, CustomFieldDefinition.id)
        )
    )


def contacts_csv(sessions: sessionmaker[Session]) -> Iterator[str]:
    """Contacts: id, name, numbers (``;``-separated), email, time zone, opted out, created,
    then one column per custom contact field."""
    with sessions() as session:
        keys = _field_keys(session, FieldEntity.CONTACT)
        header = ["id", "name", "numbers", "email", "timezone", "opted_out", "created_at"]
        header += [f"fields.{k}" for k in keys]
        query = (
            select(Contact, ContactNumber.number)
            .outerjoin(ContactNumber, ContactNumber.contact_id == Contact.id)
            .order_by(Contact.id, ContactNumber.id)
            .execution_options(yield_per=1000)
        )

        def rows() -> Iterator[list[Any]]:
            current: Contact | None = None
            numbers: list[str] = []
            for contact, number in session.execute(query):
                if current is not None and contact.id != current.id:
                    yield _contact_row(current, numbers, keys)
                    numbers = []
                current = contact
                if number:
                    numbers.append(number)
            if current is not None:
                yield _contact_row(current, numbers, keys)

        yield from _chunks(header, rows())


def _contact_row(contact: Contact, numbers: list[str], keys: list[str]) -> list[Any]:
    fields = contact.fields or {}
    return [
        contact.id,
        contact.name,
        ";".join(numbers),
        contact.email,
        contact.timezone,
        "yes" if contact.opted_out else "no",
        contact.created_at,
        *[fields.get(k) for k in keys],
    ]


def conversations_csv(sessions: sessionmaker[Session]) -> Iterator[str]:
    """One row per message (a conversation without messages gets one row with the message
    columns empty): the conversation's status, inbox, channel, contact, assignee and clocks,
    then the message's time, direction, author, body and delivery status."""
    assignee = aliased(User)
    author = aliased(User)
    header = [
        "conversation_id", "status", "inbox", "channel", "contact_id", "contact_name",
        "contact_number", "assignee", "created_at", "closed_at",
        "time_to_first_response_seconds", "time_to_close_seconds",
        "message_id", "message_at", "direction", "author", "automated", "body", "message_status",
    ]  # fmt: skip
    query = (
        select(
            Conversation.id,
            Conversation.status,
            Inbox.name,
            Channel.name,
            Contact.id,
            Contact.name,
            Conversation.contact_number,
            assignee.name,
            Conversation.created_at,
            Conversation.closed_at,
            Conversation.time_to_first_response_seconds,
            Conversation.time_to_close_seconds,
            Message.id,
            Message.created_at,
            Message.direction,
            author.name,
            Message.automated,
            Message.body,
            Message.status,
        )
        .join(Inbox, Inbox.id == Conversation.inbox_id)
        .join(Channel, Channel.id == Conversation.channel_id)
        .join(Contact, Contact.id == Conversation.contact_id)
        .outerjoin(assignee, assignee.id == Conversation.assignee_id)
        .outerjoin(Message, Message.conversation_id == Conversation.id)
        .outerjoin(author, author.id == Message.author_id)
        .order_by(Conversation.id, Message.id)
        .execution_options(yield_per=1000)
    )
    with sessions() as session:
        rows = ([*row[:16], _yes(row[16]), *row[17:]] for row in session.execute(query))
        yield from _chunks(header, rows)


def _yes(value: Any) -> str:
    return "" if value is None else "yes" if value else "no"
