"""What an agent edits in the inbox's right panel: custom field values of the contact and the
conversation, and the contact's numbers.

Each change is checked, applied, written to the contact log (and the timeline of the
conversation it was made from), and published for open pages; nothing here commits.

No workflow signal is sent: a conversation's workflow keeps no field values or numbers in its
state, and rules read ``conversation.fields.*`` / ``contact.fields.*`` from the database when
they run (``inbox.rules.snapshot``), so the next rule sees the new value without being told.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox import live
from inbox.models import (
    Contact,
    ContactEvent,
    ContactNumber,
    Conversation,
    ConversationStatus,
    CustomFieldDefinition,
    EventKind,
    User,
)
from inbox.models.settings import FieldEntity
from inbox.phone import InvalidNumber, normalize_number
from inbox.services import contact_log
from inbox.services.admin import fields as field_settings
from inbox.services.admin.errors import SettingsError

NUMBER_LABELS = ("mobile", "work", "home", "other")


class PanelError(ValueError):
    """A refused panel edit; ``field`` names the input at fault (a field key, ``number`` or
    ``label``), so the panel shows the reason next to it."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class UnknownField(PanelError):
    """No such field is defined (the web answers 404: there is nothing to edit)."""


@dataclass(frozen=True)
class FieldValue:
    """One field as the panel shows it: its definition (None for a stored value whose
    definition was removed, shown read-only) and the stored value."""

    key: str
    label: str
    definition: CustomFieldDefinition | None
    value: Any


def field_values(session: Session, *, entity: str, values: dict[str, Any]) -> list[FieldValue]:
    """The defined fields of ``entity`` in settings order, then stored values of fields no
    longer defined (kept, as settings promises, and still shown)."""
    defined = field_settings.definitions(session, entity)
    shown = [FieldValue(d.key, d.label, d, values.get(d.key)) for d in defined]
    known = {d.key for d in defined}
    shown += [FieldValue(k, k, None, v) for k, v in values.items() if k not in known]
    return shown


def set_field(
    session: Session,
    *,
    conversation: Conversation,
    entity: str,
    key: str,
    raw: str,
    actor: User,
) -> ContactEvent | None:
    """Set a custom field of ``conversation`` or of its contact from form text (blank clears
    it). Returns the log entry, or None when the value did not change (nothing is logged)."""
    if entity not in {e.value for e in FieldEntity}:
        raise UnknownField("fields belong to a contact or a conversation", field=key)
    definition = session.scalars(
        select(CustomFieldDefinition).where(
            CustomFieldDefinition.entity == entity, CustomFieldDefinition.key == key
        )
    ).first()
    if definition is None:
        raise UnknownField(f"no {entity} field {key!r} is defined in settings", field=key)
    try:
        value = field_settings.coerce_value(definition, raw[:1000])
    except SettingsError as exc:
        raise PanelError(str(exc), field=key) from exc
    owner: Contact | Conversation = (
        conversation.contact if entity == FieldEntity.CONTACT else conversation
    )
    current = dict(owner.fields or {})
    previous = current.get(key)
    if previous == value:
        return None
    if value is None:
        current.pop(key, None)
    else:
        current[key] = value
    owner.fields = current  # a new dict: the JSON column sees the change
    owner_name = "Contact" if entity == FieldEntity.CONTACT else "Conversation"
    said = "cleared" if value is None else f"set to {value}"
    event = contact_log.write(
        session,
        contact=conversation.contact,
        conversation=conversation,
        kind=EventKind.FIELD_CHANGED,
        summary=f"{owner_name} {definition.label} {said} by {actor.name}",
        data={"field": f"{entity}.fields.{key}", "from": previous, "to": value},
        author_id=actor.id,
    )
    if entity == FieldEntity.CONTACT:
        _contact_changed(session, conversation.contact, event)
    return event


def add_number(
    session: Session, *, conversation: Conversation, raw: str, label: str, actor: User
) -> ContactEvent:
    """Give the conversation's contact one more number (any form; stored E.164) with a label.
    A number another contact has is refused (one number, one contact)."""
    if label not in NUMBER_LABELS:
        raise PanelError(f"label: one of {', '.join(NUMBER_LABELS)}", field="label")
    try:
        number = normalize_number(raw)
    except InvalidNumber as exc:
        raise PanelError(str(exc), field="number") from exc
    contact = conversation.contact
    taken = session.scalars(select(ContactNumber).where(ContactNumber.number == number)).first()
    if taken is not None:
        whose = "this contact" if taken.contact_id == contact.id else "another contact"
        raise PanelError(f"{number} already belongs to {whose}", field="number")
    contact.numbers.append(ContactNumber(number=number, label=label))
    session.flush()
    event = contact_log.write(
        session,
        contact=contact,
        conversation=conversation,
        kind=EventKind.NUMBER_ADDED,
        summary=f"Number {number} ({label}) added by {actor.name}",
        data={"number": number, "label": label},
        author_id=actor.id,
    )
    _contact_changed(session, contact, event)
    return event


def remove_number(
    session: Session, *, conversation: Conversation, number_id: int, actor: User
) -> ContactEvent:
    """Take a number off the conversation's contact. The last one stays (a contact is reached
    by a number), and so does one an open conversation texts with (its replies go there)."""
    contact = conversation.contact
    found = next((n for n in contact.numbers if n.id == number_id), None)
    if found is None:
        raise PanelError("this contact has no such number", field="number")
    if len(contact.numbers) == 1:
        raise PanelError(f"{found.number} is the contact's only number", field="number")
    in_use = session.scalars(
        select(Conversation.id).where(
            Conversation.contact_id == contact.id,
            Conversation.contact_number == found.number,
            Conversation.status == ConversationStatus.OPEN,
        )
    ).first()
    if in_use is not None:
        raise PanelError(
            f"{found.number} is in use by open conversation #{in_use}; close it first",
            field="number",
        )
    contact.numbers.remove(found)
    session.flush()
    event = contact_log.write(
        session,
        contact=contact,
        conversation=conversation,
        kind=EventKind.NUMBER_REMOVED,
        summary=f"Number {found.number} removed by {actor.name}",
        data={"number": found.number, "label": found.label},
        author_id=actor.id,
    )
    _contact_changed(session, contact, event)
    return event


def _contact_changed(session: Session, contact: Contact, event: ContactEvent) -> None:
    """Every open page of the contact's conversations shows its fields and numbers."""
    for conversation_id, inbox_id in session.execute(
        select(Conversation.id, Conversation.inbox_id).where(Conversation.contact_id == contact.id)
    ):
        live.publish(
            session,
            live.CONVERSATION_UPDATED,
            conversation_id=conversation_id,
            inbox_id=inbox_id,
            data={"contact_id": contact.id, "event_id": event.id},
        )
