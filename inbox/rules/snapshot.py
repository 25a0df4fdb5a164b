"""The stored side of a conversation as condition facts and merge fields (reads the database).

Used by the automation activities and by ``inbox rules test``. Values are JSON-safe so they can
travel through Temporal as an activity result.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox.models import ConsentState, Conversation, Message
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


# Facts that cost a query each group (a relation to load, or an aggregate); the rest come
# from the conversation row itself.
_INBOX = ("conversation.inbox", "inbox.name", "inbox.within_business_hours", "inbox.next_open")
_ASSIGNEE = ("conversation.assignee", "assignee.name", "assignee.first_name", "assignee.email")
_CONTACT = ("contact.name", "contact.first_name", "contact.email")
_COUNTS = ("conversation.messages_received", "conversation.messages_sent")


def message_counts(session: Session, conversation_id: int) -> dict[str, int]:
    """How many messages the conversation holds, by direction (``inbound``, ``outbound``)."""
    rows = session.execute(
        select(Message.direction, func.count())
        .where(Message.conversation_id == conversation_id)
        .group_by(Message.direction)
    ).all()
    return {str(direction): int(count) for direction, count in rows}


def build_facts(
    session: Session,
    conversation: Conversation,
    now: datetime,
    public_url: str = "",
    only: Collection[str] | None = None,
) -> dict[str, Any]:
    """Every fact about ``conversation`` that conditions and templates read, as of ``now``.

    ``only``: the facts wanted (keys, or ``contact.fields`` / ``conversation.fields`` for the
    custom fields), when the caller knows them (a template names its merge fields): facts that
    would cost a query and are not wanted are left out. None: all of them.
    """

    def wanted(*keys: str) -> bool:
        return only is None or any(key in only for key in keys)

    facts: dict[str, Any] = {
        "conversation.id": conversation.id,
        "conversation.status": conversation.status,
        "conversation.tags": list(conversation.tags or []),
        "conversation.url": f"{public_url.rstrip('/')}/conversations/{conversation.id}",
        "conversation.opened_at": _iso(conversation.created_at),
        "conversation.last_inbound_at": _iso(conversation.last_inbound_at),
        "conversation.last_outbound_at": _iso(conversation.last_outbound_at),
        "conversation.time_to_first_response_seconds": conversation.time_to_first_response_seconds,
        "conversation.time_to_close_seconds": conversation.time_to_close_seconds,
        "contact.phone": conversation.contact_number,
    }
    if conversation.sla_target:
        # The row keeps the deadline due first; the workflow's own facts have every one.
        facts[f"conversation.sla.{conversation.sla_target}_due_at"] = _iso(conversation.sla_due_at)
    for key, value in (conversation.fields or {}).items():
        facts[f"conversation.fields.{key}"] = value
    if wanted(*_INBOX):
        inbox = conversation.inbox
        facts["conversation.inbox"] = inbox.name
        facts["inbox.name"] = inbox.name
        facts["inbox.within_business_hours"] = hours.is_open(
            inbox.business_hours, inbox.timezone, now, inbox.holidays
        )
        facts["inbox.next_open"] = hours.describe_next_open(
            inbox.business_hours, inbox.timezone, now, inbox.holidays
        )
    if wanted("conversation.channel"):
        facts["conversation.channel"] = conversation.channel.name
    if wanted(*_ASSIGNEE):
        assignee = conversation.assignee
        facts["conversation.assignee"] = assignee.email if assignee else None
        facts["assignee.name"] = assignee.name if assignee else None
        facts["assignee.first_name"] = _first(assignee.name) if assignee else None
        facts["assignee.email"] = assignee.email if assignee else None
    if wanted("contact.opted_out"):
        # Consent is per number: this conversation's number.
        state = session.get(ConsentState, conversation.contact_number)
        facts["contact.opted_out"] = bool(state is not None and state.opted_out)
    if wanted("conversation.last_direction"):
        facts["conversation.last_direction"] = last_direction(session, conversation.id)
    if wanted(*_COUNTS):
        counts = message_counts(session, conversation.id)
        facts["conversation.messages_received"] = counts.get("inbound", 0)
        facts["conversation.messages_sent"] = counts.get("outbound", 0)
    if wanted(*_CONTACT, "contact.fields"):
        contact = conversation.contact
        facts["contact.name"] = contact.name
        facts["contact.first_name"] = _first(contact.name)
        facts["contact.email"] = contact.email
        for key, value in (contact.fields or {}).items():
            facts[f"contact.fields.{key}"] = value
    return facts
