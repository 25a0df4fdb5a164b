"""Search over contact name, number and message text, behind one function.

This first implementation is a portable, escaped ``LIKE`` (``ILIKE`` on PostgreSQL): exact
substring semantics on both databases, case-insensitive, and always combined with the view and
inbox filter (which use the conversation indexes). Substring matching of message text scans the
messages of the candidate conversations; SQLite FTS5 / PostgreSQL trigram indexes can replace
the message clause here without changing any caller.
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session

from inbox.models import Contact, ContactNumber, Conversation, Message

MAX_QUERY_LENGTH = 200


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, with LIKE's wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_clause(session: Session, query: str) -> ColumnElement[bool]:
    """A condition on ``Conversation``: its contact's name or number, or a message, matches."""
    text = query.strip()[:MAX_QUERY_LENGTH]
    pattern = like_pattern(text)
    contact_ids = select(Contact.id).where(Contact.name.ilike(pattern, escape="\\"))
    clauses: list[ColumnElement[bool]] = [
        Conversation.contact_id.in_(contact_ids),
        exists().where(
            Message.conversation_id == Conversation.id,
            Message.body.ilike(pattern, escape="\\"),
        ),
    ]
    digits = re.sub(r"\D", "", text)
    # A query that looks like (part of) a phone number matches numbers whatever their format.
    if len(digits) >= 3 and len(digits) >= len(re.sub(r"[\s()+\-.]", "", text)):
        number_pattern = like_pattern(digits)
        clauses.append(Conversation.contact_number.like(number_pattern, escape="\\"))
        clauses.append(
            Conversation.contact_id.in_(
                select(ContactNumber.contact_id).where(
                    ContactNumber.number.like(number_pattern, escape="\\")
                )
            )
        )
    return or_(*clauses)
