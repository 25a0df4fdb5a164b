"""Search over contact name, number and message text, behind one function.

Substring semantics, case-insensitive, on both databases, answered from the search index of
``inbox.search_index``: SQLite's FTS5 trigram tables (``MATCH`` on a quoted phrase) and
PostgreSQL's ``pg_trgm`` GIN indexes (``ILIKE``). A trigram index needs three characters; a
shorter query falls back to an escaped ``LIKE`` scan, which is still correct, only slower.
A query that looks like (part of) a phone number also matches numbers whatever their format.

The result is a condition on ``Conversation``; callers combine it with the view and the inbox
filter, so search always honours them.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from inbox.models import Contact, ContactNumber, Conversation, Message
from inbox.search_index import (
    SEARCH_CONTACTS,
    SEARCH_MESSAGES,
    search_contacts,
    search_messages,
)

MAX_QUERY_LENGTH = 200
TRIGRAM = 3  # the shortest text a trigram index can find

_Ids = Select[Any] | CompoundSelect[Any]


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, with LIKE's wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def fts_phrase(text: str) -> str:
    """``text`` as one FTS5 string: operators, quotes and colons inside it are plain text."""
    return '"' + text.replace('"', '""') + '"'


def number_digits(text: str) -> str:
    """The digits of a query that looks like (part of) a phone number, else ``""``."""
    digits = re.sub(r"\D", "", text)
    if len(digits) >= TRIGRAM and len(digits) >= len(re.sub(r"[\s()+\-.]", "", text)):
        return digits
    return ""


def clean_query(query: str) -> str:
    """The query as searched: trimmed, bounded, without control characters."""
    return re.sub(r"[\x00-\x1f\x7f]", " ", query).strip()[:MAX_QUERY_LENGTH].strip()


def search_clause(session: Session, query: str) -> ColumnElement[bool]:
    """A condition on ``Conversation``: its contact's name or number, or a message, matches."""
    text = clean_query(query)
    digits = number_digits(text)
    if session.get_bind().dialect.name == "sqlite" and len(text) >= TRIGRAM:
        contact_ids, message_conversation_ids = _sqlite_fts(text, digits)
    else:
        contact_ids, message_conversation_ids = _trigram_like(text, digits)
    # One set of conversation ids, so the database starts from the (usually few) matches and
    # sorts them, instead of walking every conversation of the view to test each one.
    by_contact = select(Conversation.id).where(Conversation.contact_id.in_(contact_ids))
    return Conversation.id.in_(union_all(by_contact, message_conversation_ids))


def _sqlite_fts(text: str, digits: str) -> tuple[_Ids, _Ids]:
    """Contact ids and conversation ids matching, from the FTS5 trigram tables."""
    contact_query = f"name : {fts_phrase(text)}"
    if digits:
        contact_query += f" OR numbers : {fts_phrase(digits)}"
    contact_ids = select(search_contacts.c.rowid).where(
        literal_column(SEARCH_CONTACTS).op("MATCH")(literal(contact_query))
    )
    conversation_ids = (
        select(Message.conversation_id)
        .join_from(search_messages, Message, Message.id == search_messages.c.rowid)
        .where(literal_column(SEARCH_MESSAGES).op("MATCH")(literal(fts_phrase(text))))
    )
    return contact_ids, conversation_ids


def _trigram_like(text: str, digits: str) -> tuple[_Ids, _Ids]:
    """Contact ids and conversation ids matching, by escaped ``ILIKE`` (PostgreSQL answers it
    from the pg_trgm indexes; on SQLite this serves queries too short for trigrams)."""
    pattern = like_pattern(text)
    contact_ids: _Ids = select(Contact.id).where(Contact.name.ilike(pattern, escape="\\"))
    if digits:
        number = like_pattern(digits)
        contact_ids = union_all(
            contact_ids,
            select(ContactNumber.contact_id).where(ContactNumber.number.like(number, escape="\\")),
            select(Conversation.contact_id).where(
                Conversation.contact_number.like(number, escape="\\")
            ),
        )
    conversation_ids = select(Message.conversation_id).where(
        Message.body.ilike(pattern, escape="\\")
    )
    return contact_ids, conversation_ids
