"""Tags an agent (or an integration) puts on a conversation by hand, and the tags in use.

A tag is short free text, kept normalised so the same tag typed twice is one tag: trimmed,
lower-case, inner spaces as ``-`` (so ``tag:follow-up`` searches it), at most ``MAX_LENGTH``
characters, no commas (lists of tags are written comma-separated) and no control characters.

A change follows the pattern of :mod:`inbox.services.conversations`: the row changes, a
``tagged`` / ``untagged`` event goes on the timeline and in the contact log with the actor, and
live pages hear it. No workflow signal: tags are not part of the workflow's state or clocks (the
rule action ``add_tag`` sends none either), and rules read tags from the row when they evaluate
(``inbox.rules.snapshot``), so a condition ``conversation.tags: {includes: vip}`` sees a tag
added by hand at the next trigger or timer re-check. Nothing here commits.
"""

from __future__ import annotations

import json
import re

from sqlalchemy import ColumnElement, String, and_, func, literal, select, true, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from inbox.models import ContactEvent, Conversation, EventKind
from inbox.services import visibility
from inbox.services.conversations import ConversationActionError, log_change, publish_change

MAX_LENGTH = 40
MAX_TAGS = 20  # per conversation: a tag list is for scanning, not a keyword dump
_FORBIDDEN = re.compile(r"[,\x00-\x1f\x7f]")


def normalise(text: str) -> str:
    """The tag as stored, or ConversationActionError (``field="tag"``) saying what is wrong."""
    tag = re.sub(r"\s+", "-", text.strip().lower())
    if not tag:
        raise ConversationActionError("a tag cannot be empty", field="tag")
    if _FORBIDDEN.search(tag):
        raise ConversationActionError(
            "a tag cannot contain commas or control characters", field="tag"
        )
    if len(tag) > MAX_LENGTH:
        raise ConversationActionError(
            f"a tag has at most {MAX_LENGTH} characters ({len(tag)} given)", field="tag"
        )
    return tag


def add_tag(
    session: Session,
    *,
    conversation: Conversation,
    tag: str,
    actor_id: int | None = None,
) -> ContactEvent:
    """Tag the conversation; refused if the tag is malformed or already there."""
    tag = normalise(tag)
    tags = list(conversation.tags or [])
    if tag in tags:
        raise ConversationActionError(f"conversation {conversation.id} is already tagged {tag!r}")
    if len(tags) >= MAX_TAGS:
        raise ConversationActionError(
            f"a conversation has at most {MAX_TAGS} tags; remove one first"
        )
    conversation.tags = [*tags, tag]
    return _changed(session, conversation, EventKind.TAGGED, f"Tagged {tag}", tag, actor_id)


def remove_tag(
    session: Session,
    *,
    conversation: Conversation,
    tag: str,
    actor_id: int | None = None,
) -> ContactEvent:
    """Remove a tag; refused if the conversation does not have it. The tag is matched as
    normalised, and also as given (a rule may have set one with capitals)."""
    tags = list(conversation.tags or [])
    given = tag.strip()
    if given not in tags:
        given = normalise(tag)
    if given not in tags:
        raise ConversationActionError(f"conversation {conversation.id} is not tagged {given!r}")
    conversation.tags = [t for t in tags if t != given]
    return _changed(
        session, conversation, EventKind.UNTAGGED, f"Removed tag {given}", given, actor_id
    )


def _changed(
    session: Session,
    conversation: Conversation,
    kind: EventKind,
    summary: str,
    tag: str,
    actor_id: int | None,
) -> ContactEvent:
    event = log_change(
        session, conversation, kind, summary, actor_id=actor_id, automation=None, data={"tag": tag}
    )
    publish_change(
        session, conversation, event, {"event_id": event.id, "tags": list(conversation.tags)}
    )
    return event


def has_tag(session: Session, tag: str) -> ColumnElement[bool]:
    """A condition on ``Conversation``: it carries ``tag`` (exactly, as stored)."""
    if session.get_bind().dialect.name == "postgresql":
        return type_coerce(Conversation.tags, JSONB).contains([tag])
    values = func.json_each(Conversation.tags).table_valued("value")
    exact = (
        select(literal(1))
        .select_from(values)
        .where(values.c.value == tag)
        .correlate(Conversation)
        .exists()
    )
    if not tag.isascii():
        return exact
    # A cheap test on the stored JSON text first: a plain LIKE costs far less per row than
    # opening json_each, and every JSON writer spells an ASCII string as json.dumps does (the
    # exact test still decides, e.g. for '"vip"' inside another tag).
    text = json.dumps(tag)
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return and_(type_coerce(Conversation.tags, String).like(pattern, escape="\\"), exact)


def tags_in_use(
    session: Session, scope: visibility.Scope, *, prefix: str = "", limit: int = 20
) -> list[str]:
    """Tags on conversations ``scope`` may see, alphabetical, starting with ``prefix`` (for the
    autocomplete of the tag input)."""
    if session.get_bind().dialect.name == "postgresql":
        each = func.jsonb_array_elements_text(type_coerce(Conversation.tags, JSONB))
        inner = select(each.label("tag"))
    else:
        values = func.json_each(Conversation.tags).table_valued("value")
        inner = select(values.c.value.label("tag")).select_from(Conversation).join(values, true())
    found = inner.where(visibility.conversations(scope)).subquery()
    stmt = select(found.c.tag).distinct()
    # Spaces as stored; control characters dropped (no tag has one, and PostgreSQL refuses NUL).
    start = re.sub(r"\s+", "-", _FORBIDDEN.sub("", prefix).strip().lower())
    if start:
        stmt = stmt.where(found.c.tag.startswith(start, autoescape=True))
    return [str(tag) for tag in session.scalars(stmt.order_by(found.c.tag).limit(limit))]
