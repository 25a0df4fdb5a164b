"""The stored side of a conversation as condition facts and merge fields (reads the database).

Used by the automation activities and by ``inbox rules test``. Values are JSON-safe so they can
travel through Temporal as an activity result.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox.models import Conversation, Message
from inbox.rules import hours


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _first(name: str | None) -> str:
    return name.split()[0] if name and name.strip() else ""


def last_direction(session: Session, conversation_id: int) -> str | None:
    """Direction of the conversation's last message, automated ones aside: "inbound" means the
    contact still awaits a person (an auto-reply does not answer them)."""
    return session.scalar(
        select(Message.direction)
        .where(Message.conversation_id == conversation_id, Message.automated.is_(False))
        .order_by(Message.id.desc())
        .limit(1)
    )


def build_facts(
    session: Session, conversation: Conversation, now: datetime, public_url: str = ""
) -> dict[str, Any]:
    """Every fact about ``conversation`` that conditions and templates read, as of ``now``."""
    contact, inbox, assignee = conversation.contact, conversation.inbox, conversation.assignee
    counts = dict(
        session.execute(
            select(Message.direction, func.count())
            .where(Message.conversation_id == conversation.id)
            .group_by(Message.direction)
        ).all()
    )
    facts: dict[str, Any] = {
        "conversation.id": conversation.id,
        "conversation.status": conversation.status,
        "conversation.inbox": inbox.name,
        "conversation.channel": conversation.channel.name,
        "conversation.assignee": assignee.email if assignee else None,
        "conversation.tags": list(conversation.tags or []),
        "conversation.url": f"{public_url.rstrip('/')}/conversations/{conversation.id}",
        "conversation.opened_at": _iso(conversation.created_at),
        "conversation.last_inbound_at": _iso(conversation.last_inbound_at),
        "conversation.last_outbound_at": _iso(conversation.last_outbound_at),
        "conversation.time_to_first_response_seconds": conversation.time_to_first_response_seconds,
        "conversation.time_to_close_seconds": conversation.time_to_close_seconds,
        "conversation.last_direction": last_direction(session, conversation.id),
        "conversation.messages_received": int(counts.get("inbound", 0)),
        "conversation.messages_sent": int(counts.get("outbound", 0)),
        "contact.name": contact.name,
        "contact.first_name": _first(contact.name),
        "contact.phone": conversation.contact_number,
        "contact.email": contact.email,
        "contact.opted_out": bool(contact.opted_out),
        "inbox.name": inbox.name,
        "inbox.within_business_hours": hours.is_open(inbox.business_hours, inbox.timezone, now),
        "inbox.next_open": hours.describe_next_open(inbox.business_hours, inbox.timezone, now),
        "assignee.name": assignee.name if assignee else None,
        "assignee.first_name": _first(assignee.name) if assignee else None,
        "assignee.email": assignee.email if assignee else None,
    }
    for key, value in (contact.fields or {}).items():
        facts[f"contact.fields.{key}"] = value
    for key, value in (conversation.fields or {}).items():
        facts[f"conversation.fields.{key}"] = value
    return facts
