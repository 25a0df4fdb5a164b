"""Merge two contacts that are the same person: everything of the other contact moves to the
kept one, the kept one's empty details are filled from the other, and the other is deleted.

Every table that points at a contact moves: numbers, conversations, messages (one-off SMS
too), the contact log, consent records and a blocklist entry. The merge is one transaction,
written to the audit log and to the kept contact's log. Both contacts must be visible to the
caller (:mod:`inbox.services.visibility`); who may merge at all (managers and admins on the
web, a read-write key on the API) is the caller's rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from inbox import live
from inbox.models import (
    BlockedNumber,
    ConsentRecord,
    Contact,
    ContactEvent,
    ContactNumber,
    Conversation,
    EventKind,
    Message,
    utcnow,
)
from inbox.search_index import refresh_contact
from inbox.services import visibility
from inbox.services.admin import audit

AUDIT_ACTION = "contact.merge"


class MergeError(ValueError):
    """The merge cannot be done; ``not_found`` when a contact is missing or not visible (the
    caller answers 404 for it, with no hint that it exists)."""

    def __init__(self, message: str, *, not_found: bool = False) -> None:
        super().__init__(message)
        self.not_found = not_found


@dataclass(frozen=True, slots=True)
class MergeResult:
    """What moved to the kept contact, row counts per kind, and which details it took."""

    contact_id: int
    merged_id: int
    moved: dict[str, int]
    filled: tuple[str, ...]


def _visible(session: Session, scope: visibility.Scope, contact_id: int) -> Contact:
    contact = session.scalars(
        select(Contact).where(Contact.id == contact_id, visibility.contacts(scope))
    ).one_or_none()
    if contact is None:
        raise MergeError(f"contact {contact_id} not found", not_found=True)
    return contact


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _fill_details(keep: Contact, other: Contact) -> list[str]:
    """Copy the other's name, email, time zone and custom fields where the kept one has none;
    a value the kept contact has always wins."""
    filled = []
    for attribute in ("name", "email", "timezone"):
        if _is_empty(getattr(keep, attribute)) and not _is_empty(getattr(other, attribute)):
            setattr(keep, attribute, getattr(other, attribute))
            filled.append(attribute)
    fields = dict(keep.fields or {})
    for key, value in (other.fields or {}).items():
        if _is_empty(fields.get(key)) and not _is_empty(value):
            fields[key] = value
            filled.append(f"fields.{key}")
    keep.fields = fields  # a new dict: the JSON column sees the change
    # Consent: the merged person is opted out if either contact was (since the earlier time).
    if other.opted_out:
        times = [t for t in (keep.opted_out_at, other.opted_out_at) if t is not None]
        keep.opted_out = True
        keep.opted_out_at = min(times) if times else None
    return filled


def _move(session: Session, keep: Contact, other: Contact) -> dict[str, int]:
    """Point every row of ``other`` at ``keep``; row counts by table."""
    moved: dict[str, int] = {}
    # Conversations first: the SQLite search index recomputes a contact's numbers (with its
    # conversations' numbers) when its numbers move.
    for model, name in (
        (Conversation, "conversations"),
        (ContactNumber, "numbers"),
        (Message, "messages"),
        (ContactEvent, "events"),
        (ConsentRecord, "consent_records"),
    ):
        result = session.execute(
            update(model)
            .where(model.contact_id == other.id)
            .values(contact_id=keep.id)
            .execution_options(synchronize_session=False)
        )
        moved[name] = int(result.rowcount or 0)  # type: ignore[attr-defined]
    # One blocklist entry per contact: the other's block carries over when the kept contact
    # has none (the person was blocked); if both are blocked the other's goes with it.
    if not session.scalar(select(BlockedNumber.id).where(BlockedNumber.contact_id == keep.id)):
        result = session.execute(
            update(BlockedNumber)
            .where(BlockedNumber.contact_id == other.id)
            .values(contact_id=keep.id)
            .execution_options(synchronize_session=False)
        )
        moved["blocks"] = int(result.rowcount or 0)  # type: ignore[attr-defined]
    return moved


def merge_contacts(
    session: Session,
    *,
    keep_id: int,
    other_id: int,
    scope: visibility.Scope,
    actor_id: int | None,
    via: str = "web",
) -> MergeResult:
    """Merge contact ``other_id`` into ``keep_id`` (see the module's docstring); the caller
    commits. ``via`` says in the audit entry where the merge came from (``api key <name>``
    for an integration, which has no user). Raises :class:`MergeError` for the same contact
    twice or one ``scope`` cannot see."""
    keep = _visible(session, scope, keep_id)  # first: an unseen contact is "not found"
    if keep_id == other_id:
        raise MergeError("a contact cannot be merged with itself")
    other = _visible(session, scope, other_id)
    other_label = other.display_name
    filled = _fill_details(keep, other)
    session.flush()
    moved = _move(session, keep, other)
    refresh_contact(session.connection(), keep.id)
    # The other's rows now belong to the kept contact; forget what the session loaded of them
    # so deleting the other cascades to nothing that moved.
    session.expire_all()
    session.delete(session.get_one(Contact, other_id))
    keep = session.get_one(Contact, keep_id)
    details = {
        "merged_id": other_id,
        "merged_name": other_label,
        "moved": moved,
        "filled": filled,
        "via": via,
    }
    session.add(
        ContactEvent(
            contact_id=keep.id,
            kind=EventKind.MERGED,
            summary=f"Merged {other_label} (contact {other_id}) into this contact",
            data=details,
            author_id=actor_id,
            occurred_at=utcnow(),
        )
    )
    audit.record(
        session,
        actor_id=actor_id,
        action=AUDIT_ACTION,
        target=f"contact {keep.id}",
        details=details,
    )
    for conversation_id, inbox_id in session.execute(
        select(Conversation.id, Conversation.inbox_id).where(Conversation.contact_id == keep.id)
    ):
        live.publish(
            session,
            live.CONVERSATION_UPDATED,
            conversation_id=conversation_id,
            inbox_id=inbox_id,
            data={"contact_id": keep.id},
        )
    session.flush()
    return MergeResult(contact_id=keep.id, merged_id=other_id, moved=moved, filled=tuple(filled))
