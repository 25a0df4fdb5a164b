"""Custom fields on conversations and contacts: definitions, and checking a value against one.

Values are stored in the ``fields`` JSON of the conversation or contact under the definition's
``key``; rule conditions read them as ``contact.fields.<key>`` / ``conversation.fields.<key>``
and merge fields as ``{{ contact.fields.<key> }}``. Dates are stored ISO (``2024-05-01``),
numbers as JSON numbers.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox.models import CustomFieldDefinition
from inbox.models.settings import FieldEntity, FieldType
from inbox.services.admin import audit
from inbox.services.admin.errors import SettingsError

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_CHOICES = 50


def definitions(session: Session, entity: str | None = None) -> list[CustomFieldDefinition]:
    """Definitions (of one entity if given), in display order."""
    query = select(CustomFieldDefinition).order_by(
        CustomFieldDefinition.entity, CustomFieldDefinition.position, CustomFieldDefinition.id
    )
    if entity is not None:
        query = query.where(CustomFieldDefinition.entity == entity)
    return list(session.scalars(query))


def parse_choices(text: str) -> list[str]:
    """Choices typed one per line or comma-separated, blanks and repeats dropped."""
    seen: list[str] = []
    for part in re.split(r"[\n,]", text):
        choice = part.strip()
        if choice and choice not in seen:
            seen.append(choice)
    return seen


def create_field(
    session: Session,
    *,
    entity: str,
    key: str,
    label: str,
    type: str,
    choices: list[str] | None = None,
    actor_id: int | None = None,
) -> CustomFieldDefinition:
    """Define a field. ``key`` is lower-case letters, digits and ``_`` (used in rules and
    templates, so it never changes once made); choice fields need at least one choice."""
    if entity not in {e.value for e in FieldEntity}:
        raise SettingsError("entity: conversation or contact", field="entity")
    key = key.strip()
    if not _KEY.match(key):
        raise SettingsError(
            "key: lower-case letters, digits and _ , starting with a letter (e.g. plan_tier)",
            field="key",
        )
    exists = session.scalars(
        select(CustomFieldDefinition.id).where(
            CustomFieldDefinition.entity == entity, CustomFieldDefinition.key == key
        )
    ).first()
    if exists is not None:
        raise SettingsError(f"key: {entity} field {key!r} exists already", field="key")
    label, clean_choices = _check(label, type, choices or [])
    position = (
        session.scalar(
            select(func.max(CustomFieldDefinition.position)).where(
                CustomFieldDefinition.entity == entity
            )
        )
        or 0
    ) + 1
    definition = CustomFieldDefinition(
        entity=entity, key=key, label=label, type=type, choices=clean_choices, position=position
    )
    session.add(definition)
    session.flush()
    audit.record(
        session,
        actor_id=actor_id,
        action="field.create",
        target=f"{entity}.fields.{key}",
        details={"label": label, "type": type, "choices": clean_choices},
    )
    return definition


def update_field(
    session: Session,
    *,
    definition: CustomFieldDefinition,
    label: str,
    choices: list[str] | None = None,
    actor_id: int | None = None,
) -> CustomFieldDefinition:
    """Change the label (and a choice field's choices); key and type stay, since rules and
    stored values depend on them."""
    label, clean_choices = _check(label, definition.type, choices or [])
    before = {"label": definition.label, "choices": definition.choices}
    definition.label, definition.choices = label, clean_choices
    after = {"label": label, "choices": clean_choices}
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changes:
        audit.record(
            session,
            actor_id=actor_id,
            action="field.update",
            target=f"{definition.entity}.fields.{definition.key}",
            details=changes,
        )
    return definition


def delete_field(
    session: Session, *, definition: CustomFieldDefinition, actor_id: int | None = None
) -> None:
    """Remove the definition. Stored values stay in the JSON (harmless, and not lost if the
    field is defined again)."""
    audit.record(
        session,
        actor_id=actor_id,
        action="field.delete",
        target=f"{definition.entity}.fields.{definition.key}",
    )
    session.delete(definition)
    session.flush()


def coerce_value(definition: CustomFieldDefinition, raw: str) -> Any:
    """A typed value from form text (None for blank); SettingsError naming the field."""
    text = raw.strip()
    if not text:
        return None
    where = definition.label
    if definition.type == FieldType.NUMBER:
        try:
            number = float(text)
        except ValueError as exc:
            raise SettingsError(f"{where}: {text!r} is not a number", field=definition.key) from exc
        return int(number) if number.is_integer() else number
    if definition.type == FieldType.DATE:
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError as exc:
            raise SettingsError(
                f"{where}: {text!r} is not a date like 2024-05-01", field=definition.key
            ) from exc
    if definition.type == FieldType.CHOICE and text not in definition.choices:
        raise SettingsError(
            f"{where}: choose one of {', '.join(definition.choices)}", field=definition.key
        )
    return text


def _check(label: str, type: str, choices: list[str]) -> tuple[str, list[str]]:
    label = label.strip()
    if not label or len(label) > 100:
        raise SettingsError("label: 1 to 100 characters", field="label")
    if type not in {t.value for t in FieldType}:
        raise SettingsError(f"type: one of {', '.join(t.value for t in FieldType)}", field="type")
    if type != FieldType.CHOICE:
        return label, []
    if not choices:
        raise SettingsError("choices: a choice field needs at least one choice", field="choices")
    if len(choices) > MAX_CHOICES:
        raise SettingsError(f"choices: at most {MAX_CHOICES}", field="choices")
    return label, choices
