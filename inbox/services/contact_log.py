"""One entry of a contact's log: the row, flushed for its id, and the live pages told.

The entry also shows in a conversation's timeline when it names one. Callers decide which
conversation (if any) and check what the entry may say; this module only writes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from inbox import live
from inbox.models import Contact, ContactEvent, Conversation, utcnow


def write(
    session: Session,
    *,
    contact: Contact,
    conversation: Conversation | None,
    kind: str,
    summary: str,
    data: dict[str, Any] | None = None,
    author_id: int | None = None,
    automation: str | None = None,
    occurred_at: datetime | None = None,
) -> ContactEvent:
    now = utcnow()
    event = ContactEvent(
        contact_id=contact.id,
        conversation_id=conversation.id if conversation is not None else None,
        kind=kind,
        summary=summary,
        data=data or {},
        author_id=author_id,
        automation=automation,
        occurred_at=occurred_at or now,
        created_at=now,
    )
    session.add(event)
    session.flush()
    live.publish(
        session,
        live.EVENT_CREATED,
        conversation_id=event.conversation_id,
        inbox_id=conversation.inbox_id if conversation is not None else None,
        data={"event_id": event.id, "contact_id": contact.id, "kind": kind},
    )
    return event
