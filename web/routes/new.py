"""Start a new conversation: pick a channel and a contact (and which number), then type and send."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.deps import SessionDep
from inbox.limits import parse_id
from inbox.models import Channel, Contact, ContactNumber, Conversation, User
from inbox.phone import InvalidNumber, normalize_number
from inbox.services import visibility
from inbox.services.conversations import (
    ConversationActionError,
    open_conversation,
    start_conversation,
)
from web import queries
from web.auth import CsrfProtected, CurrentUser, is_manager
from web.deps import page_context
from web.queries import member_inbox_ids, scope
from web.search import like_pattern
from web.templating import render

router = APIRouter(prefix="/new", tags=["web"])


def usable_channels(session: Session, user: User) -> list[Channel]:
    """Channels whose inbox the user works in (managers: all)."""
    query = select(Channel).order_by(Channel.name)
    if not is_manager(user):
        query = query.where(Channel.default_inbox_id.in_(member_inbox_ids(session, user)))
    return list(session.scalars(query))


def find_contacts(session: Session, user: User, q: str, limit: int = 20) -> list[Contact]:
    """Contacts ``user`` may see whose name or number matches ``q`` (all of them, by name,
    when ``q`` is empty)."""
    query = (
        select(Contact)
        .where(visibility.contacts(scope(session, user)))
        .options(selectinload(Contact.numbers))
        .order_by(Contact.name)
        .limit(limit)
    )
    if q.strip():
        pattern = like_pattern(q.strip())
        query = query.where(
            Contact.name.ilike(pattern, escape="\\")
            | Contact.id.in_(
                select(ContactNumber.contact_id).where(
                    ContactNumber.number.like(pattern, escape="\\")
                )
            )
        )
    return list(session.scalars(query))


def visible_contact(session: Session, user: User, contact_id: str) -> Contact | None:
    """The contact of a form's ``contact_id`` if ``user`` may see it, else None."""
    wanted = parse_id(contact_id)
    if wanted is None:
        return None
    return session.scalars(
        select(Contact).where(Contact.id == wanted, visibility.contacts(scope(session, user)))
    ).one_or_none()


def _form(
    request: Request,
    session: Session,
    user: User,
    *,
    error: str | None = None,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    existing: Conversation | None = None,
) -> Response:
    values = values or {}
    contacts = find_contacts(session, user, values.get("contact_q", ""))
    selected = None
    if parse_id(values.get("contact_id")) is not None:
        selected = visible_contact(session, user, values["contact_id"])
        if selected is not None and selected not in contacts:
            contacts.insert(0, selected)
    context = page_context(
        request,
        session,
        user,
        channels=usable_channels(session, user),
        contacts=contacts,
        selected=selected or (contacts[0] if contacts else None),
        values=values,
        error=error,
        existing=existing,
    )
    return render(request, "new.html", context, status_code=status_code)


@router.get("")
def new_page(
    request: Request, session: SessionDep, user: CurrentUser, contact_id: str = ""
) -> Response:
    """The form."""
    return _form(request, session, user, values={"contact_id": contact_id})


@router.get("/contacts")
def contact_options(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    contact_q: str = "",
    contact_id: str = "",
) -> Response:
    """The contact picker and its numbers, for active search and when the contact changes."""
    contacts = find_contacts(session, user, contact_q)
    selected = None
    wanted = parse_id(contact_id)
    if wanted is not None:
        selected = next((c for c in contacts if c.id == wanted), None)
    context = page_context(
        request,
        session,
        user,
        contacts=contacts,
        selected=selected or (contacts[0] if contacts else None),
    )
    # Only ever the picker (a plain GET of this URL too, which had no page to render).
    return render(request, "new.html", context, block="contact_picker", fragment=True)


@router.post("", dependencies=[CsrfProtected])
def create(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    channel_id: Annotated[str, Form()] = "",
    contact_id: Annotated[str, Form()] = "",
    number: Annotated[str, Form()] = "",
    new_name: Annotated[str, Form()] = "",
    new_number: Annotated[str, Form()] = "",
) -> Response:
    """Start the conversation and open it, composer focused; or show what is wrong."""
    values = {
        "channel_id": channel_id,
        "contact_id": contact_id,
        "number": number,
        "new_name": new_name,
        "new_number": new_number,
    }
    channel = next((c for c in usable_channels(session, user) if str(c.id) == channel_id), None)
    if channel is None:
        return _form(request, session, user, error="Pick a channel", status_code=422, values=values)
    if new_number.strip():
        try:
            e164 = normalize_number(new_number)
        except InvalidNumber as exc:
            return _form(request, session, user, error=str(exc), status_code=422, values=values)
        existing = session.scalar(select(ContactNumber).where(ContactNumber.number == e164))
        if existing is not None:
            contact = existing.contact
        else:
            contact = Contact(name=new_name.strip()[:200])
            contact.numbers.append(ContactNumber(number=e164))
            session.add(contact)
            session.flush()
        number = e164
    else:
        found = visible_contact(session, user, contact_id)
        if found is None:
            return _form(
                request, session, user, error="Pick a contact", status_code=422, values=values
            )
        contact = found
    open_one = open_conversation(session, channel.id, number)
    if open_one is not None:
        # The number is already being talked to there: point to it (if the agent may see it)
        # rather than refuse with an id alone.
        open_id = open_one.id
        session.rollback()  # a contact made from the typed number is not kept
        visible = session.scalar(
            select(Conversation).where(
                Conversation.id == open_id, queries.visibility(session, user)
            )
        )
        return _form(
            request,
            session,
            user,
            error=f"{number} already has an open conversation on {channel.name}.",
            status_code=409,
            values=values,
            existing=visible,
        )
    try:
        conversation = start_conversation(
            session, channel=channel, contact=contact, number=number, actor_id=user.id
        )
    except ConversationActionError as exc:
        session.rollback()
        return _form(request, session, user, error=str(exc), status_code=409, values=values)
    session.commit()
    url = f"/inbox/{conversation.id}?compose=1"
    return RedirectResponse(url, status_code=303)
