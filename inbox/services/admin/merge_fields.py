"""Merge fields: what messages and rule templates can say, and a preview against a contact.

The fields and the sandboxed rendering are the automation engine's
(:mod:`inbox.rules.templates`), so the preview shows exactly what a rule would send; the
composer's own extra fields (``agent.*``) and the custom fields defined in settings are listed
beside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.models import Contact, Conversation, utcnow
from inbox.rules import templates
from inbox.rules.snapshot import build_facts
from inbox.services.admin.fields import definitions


@dataclass(frozen=True)
class MergeField:
    name: str
    description: str
    where: str  # "messages and rules", "replies only", "custom field"


# Fields only an agent's reply knows (the person writing it); see web/merge.py.
REPLY_ONLY = {
    "agent.name": "your name (the agent sending the reply)",
    "agent.first_name": "your first name",
}


def available(session: Session) -> list[MergeField]:
    """Every merge field: the engine's, the reply-only ones, and one per custom field."""
    found = [
        MergeField(name, description, "messages and rules")
        for name, description in templates.MERGE_FIELDS.items()
        if name not in templates.OPEN_FIELDS
    ]
    found += [MergeField(n, d, "replies only") for n, d in REPLY_ONLY.items()]
    for definition in definitions(session):
        found.append(
            MergeField(
                f"{definition.entity}.fields.{definition.key}",
                f"{definition.label} ({definition.type})",
                "custom field",
            )
        )
    return found


@dataclass
class Preview:
    text: str = ""
    problems: list[str] | None = None
    conversation_id: int | None = None


def preview(
    session: Session,
    *,
    template: str,
    contact: Contact,
    now: datetime | None = None,
    public_url: str = "",
) -> Preview:
    """Render ``template`` as a rule would for ``contact``'s latest conversation (or, if it has
    none, with the contact's own fields only). Problems (syntax, unknown fields) are returned,
    not raised."""
    problems = templates.check(template)
    if problems:
        return Preview(problems=problems)
    conversation = session.scalars(
        select(Conversation)
        .where(Conversation.contact_id == contact.id)
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
        .limit(1)
    ).first()
    moment = now or utcnow()
    if conversation is not None:
        facts = build_facts(session, conversation, moment, public_url)
    else:
        facts = {
            "contact.name": contact.name,
            "contact.first_name": contact.first_name,
            "contact.phone": contact.numbers[0].number if contact.numbers else "",
            "contact.email": contact.email,
        }
        facts.update({f"contact.fields.{k}": v for k, v in (contact.fields or {}).items()})
    extra = {"rule.name": "preview", "message.body": "(the message that triggered the rule)"}
    try:
        text = templates.render(template, templates.context_from_facts(facts, extra))
    except templates.TemplateProblem as exc:
        return Preview(problems=[str(exc)])
    return Preview(text=text, conversation_id=conversation.id if conversation else None)
