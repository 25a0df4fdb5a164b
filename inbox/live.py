"""Publishing changes for live pages.

Every service or activity that changes what an agent sees calls :func:`publish` inside its own
transaction. The web processes follow the ``live_events`` table (woken by PostgreSQL
LISTEN/NOTIFY where available) and push the changes to open pages over server-sent events.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from inbox.models import LiveEvent

NOTIFY_CHANNEL = "inbox_live"

# Kinds of live events.
MESSAGE_CREATED = "message.created"
MESSAGE_UPDATED = "message.updated"
CONVERSATION_UPDATED = "conversation.updated"
CONVERSATION_CREATED = "conversation.created"
EVENT_CREATED = "event.created"


def publish(
    session: Session,
    kind: str,
    *,
    conversation_id: int | None = None,
    inbox_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Record a change for live pages; it becomes visible when ``session`` commits."""
    session.add(
        LiveEvent(kind=kind, conversation_id=conversation_id, inbox_id=inbox_id, data=data or {})
    )
    if session.get_bind().dialect.name == "postgresql":
        # NOTIFY is transactional: listeners hear it only if the transaction commits.
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
