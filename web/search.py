"""Search over contact name, number and message text, behind one function.

Substring semantics, case-insensitive, on both databases, answered from the search index of
``inbox.search_index``: SQLite's FTS5 trigram tables (``MATCH`` on a quoted phrase) and
PostgreSQL's ``pg_trgm`` GIN indexes (``ILIKE``). A trigram index needs three characters; a
shorter query falls back to an escaped ``LIKE`` scan, which is still correct, only slower.
A query that looks like (part of) a phone number also matches numbers whatever their format.

The result is a condition on ``Conversation``; callers combine it with the view and the inbox
filter, so search always honours them. It takes one of two forms, chosen by a probe of the index
(at most ``PROBE_CAP`` matching messages, once per session and query):

- **a set of conversation ids** (fewer matches than the cap: a rare word, a name, a number):
  the database collects the matches from the index and sorts just those;
- **a test per conversation** (the cap reached: a common word): collecting 80,000 matches to
  sort them costs far more than walking the view in the order of its index and testing each
  conversation (one index seek for its messages) until a page is full, which with half the
  conversations matching takes about a hundred rows. Callers that sort by a column no index
  serves pass ``walk=False`` (a walk would test every conversation of the view); counts stop
  at a cap (``web.queries.count_conversations``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    func,
    literal,
    literal_column,
    or_,
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
from inbox.services.tags import normalise

MAX_QUERY_LENGTH = 200
TRIGRAM = 3  # the shortest text a trigram index can find
# Matching messages from which a word counts as common and the search walks the view. Below it
# the id set costs a few ms; above it a walk finds a page sooner (docs/performance.md, Views).
PROBE_CAP = 2_000

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


# A tag filter that cannot match: no stored tag contains a comma (``normalise`` refuses them).
BAD_TAG = ","
_TAG_FILTER = re.compile(r"(?:^|\s)tag:(\S+)", re.IGNORECASE)


def split_tag_filter(query: str) -> tuple[str, str]:
    """``tag:vip`` in a search: the tag (normalised; "" if none; ``BAD_TAG`` if malformed, so it
    finds nothing rather than everything) and the rest of the query as searched text."""
    text = clean_query(query)
    found = _TAG_FILTER.search(text)
    if found is None:
        return "", text
    rest = (text[: found.start()] + " " + text[found.end() :]).strip()
    try:
        tag = normalise(found.group(1))
    except ValueError:
        tag = BAD_TAG
    return tag, rest


@dataclass(frozen=True, slots=True)
class _Matches:
    """The pieces both forms of a search are built from."""

    contact_ids: _Ids  # contacts whose name or number matches
    message_conversation_ids: _Ids  # conversations of the matching messages, from the index
    message_ids: Select[Any]  # the matching messages, for the probe
    message_test: ColumnElement[bool]  # a condition on one ``Message`` with the same meaning
    walkable: bool = True  # False when ``message_test`` would not mean the same as the index


def search_clause(session: Session, query: str, *, walk: bool = True) -> ColumnElement[bool]:
    """A condition on ``Conversation``: its contact's name or number, or a message, matches.

    ``walk``: the caller reads the view in the order of one of its indexes and stops at a page
    (``LIMIT``) or a cap, so a common word may be tested per conversation (see the module's
    docstring); with ``False`` the matches are always collected as a set.
    """
    matches = _matches(session, clean_query(query))
    by_contact = Conversation.contact_id.in_(matches.contact_ids)
    if walk and walks(session, query):
        # A scalar subquery, not EXISTS: under OR, PostgreSQL answers an EXISTS with a hashed
        # set of every match, the very cost the walk avoids.
        first_match = (
            select(Message.id)
            .where(Message.conversation_id == Conversation.id, matches.message_test)
            .limit(1)
            .correlate(Conversation)
            .scalar_subquery()
        )
        return or_(by_contact, first_match.is_not(None))
    # One set of conversation ids, so the database starts from the (usually few) matches and
    # sorts them, instead of walking every conversation of the view to test each one.
    by_contact_ids = select(Conversation.id).where(by_contact)
    return Conversation.id.in_(union_all(by_contact_ids, matches.message_conversation_ids))


def walks(session: Session, query: str) -> bool:
    """True when ``query`` is common enough (``PROBE_CAP`` matching messages or more) that a
    search walks the view instead of collecting the matches; probed once per session."""
    text = clean_query(query)
    key = ("search_walks", text)
    if key not in session.info:
        matches = _matches(session, text)
        if not matches.walkable:
            session.info[key] = False
        else:
            probe = select(func.count()).select_from(
                matches.message_ids.limit(PROBE_CAP).subquery()
            )
            session.info[key] = (session.scalar(probe) or 0) >= PROBE_CAP
    return bool(session.info[key])


def _matches(session: Session, text: str) -> _Matches:
    digits = number_digits(text)
    if session.get_bind().dialect.name == "sqlite" and len(text) >= TRIGRAM:
        return _sqlite_fts(text, digits)
    return _trigram_like(text, digits)


def _sqlite_fts(text: str, digits: str) -> _Matches:
    """Matches from the FTS5 trigram tables."""
    contact_query = f"name : {fts_phrase(text)}"
    if digits:
        contact_query += f" OR numbers : {fts_phrase(digits)}"
    contact_ids = select(search_contacts.c.rowid).where(
        literal_column(SEARCH_CONTACTS).op("MATCH")(literal(contact_query))
    )
    message_match = literal_column(SEARCH_MESSAGES).op("MATCH")(literal(fts_phrase(text)))
    conversation_ids = (
        select(Message.conversation_id)
        .join_from(search_messages, Message, Message.id == search_messages.c.rowid)
        .where(message_match)
    )
    return _Matches(
        contact_ids=contact_ids,
        message_conversation_ids=conversation_ids,
        message_ids=select(search_messages.c.rowid).where(message_match),
        # SQLite's LIKE folds the case of ASCII letters only, FTS5 of every letter: the same
        # meaning for a query in ASCII, so only such a query walks (``walks``).
        message_test=Message.body.like(like_pattern(text), escape="\\"),
        walkable=text.isascii(),
    )


def _trigram_like(text: str, digits: str) -> _Matches:
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
    message_test = Message.body.ilike(pattern, escape="\\")
    return _Matches(
        contact_ids=contact_ids,
        message_conversation_ids=select(Message.conversation_id).where(message_test),
        message_ids=select(Message.id).where(message_test),
        message_test=message_test,
    )
