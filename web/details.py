"""What the right panel's editable cards show: the custom fields of the contact and of the
conversation with their definitions, and the labels a new number may take."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from inbox.models import Conversation
from inbox.models.settings import FieldEntity
from inbox.services.contact_fields import NUMBER_LABELS, field_values


@dataclass(frozen=True)
class PanelError:
    """A refused edit, shown next to where it was made, with what the agent typed kept:
    ``where`` is ``<entity>.<key>`` for a field, ``numbers`` for the numbers card."""

    where: str
    message: str
    typed: dict[str, str]


def details_context(
    session: Session, conversation: Conversation, error: PanelError | None = None
) -> dict[str, Any]:
    """The right panel's field and number cards for ``conversation``."""
    return {
        "conversation_fields": field_values(
            session, entity=FieldEntity.CONVERSATION, values=conversation.fields or {}
        ),
        "contact_fields": field_values(
            session, entity=FieldEntity.CONTACT, values=conversation.contact.fields or {}
        ),
        "number_labels": NUMBER_LABELS,
        "panel_error": error,
    }
