"""``/api/v1/contacts``: create a contact, read it with its log, post events (calls, purchases),
merge another contact into it."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from api.auth import ApiKeyDep, ApiScope, require_api_key
from api.deps import SessionDep
from api.routes.conversations import action_error, field_error
from api.schemas import (
    ContactDetail,
    ContactEventIn,
    ContactEventOut,
    ContactIn,
    ContactMergeIn,
    ContactOut,
    ConversationOut,
    ErrorOut,
)
from inbox.limits import DbId
from inbox.models import Contact, ContactEvent, ContactNumber, Conversation, EventKind
from inbox.services import mentions, visibility
from inbox.services.contact_merge import MergeError, merge_contacts
from inbox.services.conversations import ConversationActionError, add_contact_event

# The newest entries only: a contact's log is for reading, not exporting.
LOG_LIMIT = 500

router = APIRouter(
    prefix="/api/v1/contacts",
    tags=["contacts"],
    dependencies=[Depends(require_api_key)],
    responses={401: {"model": ErrorOut, "description": "Missing, invalid or revoked API key"}},
)


def _get_contact(session: Session, contact_id: int, scope: visibility.Scope) -> Contact:
    """The contact, or 404 when there is none or the key may not see it."""
    contact = session.scalars(
        select(Contact).where(Contact.id == contact_id, visibility.contacts(scope))
    ).one_or_none()
    if contact is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"contact {contact_id} not found")
    return contact


@router.post(
    "",
    response_model=ContactOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": ErrorOut, "description": "A number belongs to another contact"}},
)
def create_contact(payload: ContactIn, session: SessionDep) -> ContactOut:
    """Create a contact with one or more numbers (each stored E.164, each on one contact only)."""
    wanted = [item.number for item in payload.numbers]
    taken = session.scalars(select(ContactNumber).where(ContactNumber.number.in_(wanted))).first()
    if taken is not None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"{taken.number} already belongs to contact {taken.contact_id}",
        )
    contact = Contact(
        name=payload.name,
        email=payload.email,
        timezone=payload.timezone,
        fields=payload.fields,
        numbers=[ContactNumber(number=item.number, label=item.label) for item in payload.numbers],
    )
    session.add(contact)
    try:
        session.commit()
    except IntegrityError as exc:
        # Another request took one of the numbers between our check and this insert.
        session.rollback()
        raise HTTPException(
            status.HTTP_409_CONFLICT, "one of the numbers already belongs to another contact"
        ) from exc
    return ContactOut.model_validate(contact)


@router.get(
    "/{contact_id}",
    response_model=ContactDetail,
    responses={404: {"model": ErrorOut, "description": "No such contact"}},
)
def get_contact(contact_id: DbId, session: SessionDep, scope: ApiScope) -> ContactDetail:
    """A contact with its log (newest first) and its conversations, as far as the key may
    see them."""
    contact = _get_contact(session, contact_id, scope)
    log = session.scalars(
        select(ContactEvent)
        .where(ContactEvent.contact_id == contact_id, visibility.events(scope))
        .order_by(ContactEvent.occurred_at.desc(), ContactEvent.id.desc())
        .limit(LOG_LIMIT)
    )
    conversations = session.scalars(
        select(Conversation)
        .options(selectinload(Conversation.contact))
        .where(Conversation.contact_id == contact_id, visibility.conversations(scope))
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
    )
    base = ContactOut.model_validate(contact)
    return ContactDetail(
        **base.model_dump(),
        log=[ContactEventOut.model_validate(e) for e in log],
        conversations=[ConversationOut.from_row(c) for c in conversations],
    )


@router.post(
    "/{contact_id}/events",
    response_model=ContactEventOut,
    status_code=status.HTTP_201_CREATED,
    responses={404: {"model": ErrorOut, "description": "No such contact"}},
)
def post_contact_event(
    contact_id: DbId, payload: ContactEventIn, session: SessionDep, scope: ApiScope
) -> ContactEventOut:
    """Log a call, purchase, note … in the contact's log and in a conversation's timeline
    (``conversation_id``, or by default the contact's open conversation with the newest
    message). ``@name`` in a note notifies that teammate, as a note in the inbox does."""
    contact = _get_contact(session, contact_id, scope)
    conversation = None
    if payload.conversation_id is not None:
        conversation = session.get(Conversation, payload.conversation_id)
        if conversation is None or not scope.sees(conversation):
            raise field_error(
                "conversation_id", f"no conversation with id {payload.conversation_id}"
            )
    try:
        event = add_contact_event(
            session,
            contact=contact,
            kind=payload.kind,
            summary=payload.summary,
            data=payload.data,
            conversation=conversation,
            occurred_at=payload.occurred_at,
            scope=scope,
        )
    except ConversationActionError as exc:
        session.rollback()
        raise action_error(exc) from exc
    if event.kind == EventKind.NOTE and event.conversation_id is not None:
        noted = session.get_one(Conversation, event.conversation_id)
        mentions.notify_mentions(session, conversation=noted, text=event.summary, author=None)
    session.commit()
    return ContactEventOut.model_validate(event)


@router.post(
    "/{contact_id}/merge",
    response_model=ContactOut,
    responses={
        # The same contact twice is a 422 naming other_id, shaped like FastAPI's own.
        404: {"model": ErrorOut, "description": "No such contact (either of the two)"},
    },
)
def merge_contact(
    contact_id: DbId,
    payload: ContactMergeIn,
    session: SessionDep,
    scope: ApiScope,
    api_key: ApiKeyDep,
) -> ContactOut:
    """Merge contact ``other_id`` (the same person) into this one: its numbers,
    conversations, messages, log and consent records move here, details this contact lacks
    are taken from it, then it is deleted. Audited; both must be within the key's scope."""
    try:
        merge_contacts(
            session,
            keep_id=contact_id,
            other_id=payload.other_id,
            scope=scope,
            actor_id=None,
            via=f"api key {api_key.name}",
        )
    except MergeError as exc:
        session.rollback()
        if exc.not_found:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
        raise field_error("other_id", str(exc)) from exc
    session.commit()
    kept = session.scalars(
        select(Contact).where(Contact.id == contact_id).options(selectinload(Contact.numbers))
    ).one()
    return ContactOut.model_validate(kept)
