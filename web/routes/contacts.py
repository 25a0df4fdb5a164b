"""The contacts page (search, sort, paging), a contact's page (details and log) and editing a
contact in place."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.deps import SessionDep
from inbox import live
from inbox.limits import DbId, parse_id
from inbox.models import Contact, Conversation, User
from inbox.services import visibility
from web.auth import CsrfProtected, CurrentUser, is_manager
from web.contact_list import SORT_LABELS, list_contacts, parse_sort
from web.deps import page_context
from web.queries import contact_conversations, contact_events, scope
from web.templating import render

router = APIRouter(prefix="/contacts", tags=["web"])

EMAIL_MAX = 320
NAME_MAX = 200


def get_contact(session: Session, user: User, contact_id: DbId) -> Contact:
    """A contact the user may see (:func:`inbox.services.visibility.contacts`); 404 otherwise,
    with no hint that it exists."""
    contact = session.scalars(
        select(Contact)
        .where(Contact.id == contact_id, visibility.contacts(scope(session, user)))
        .options(selectinload(Contact.numbers))
    ).one_or_none()
    if contact is None:
        raise HTTPException(status_code=404, detail="Contact not found")
    return contact


@router.get("")
def contacts_page(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    q: str = "",
    sort: str = "",
    page: str = "",
) -> Response:
    """Every contact the user may see, 50 a page; an htmx request (the search box, the sort)
    gets just the results."""
    chosen = parse_sort(sort)
    found = list_contacts(
        session, scope(session, user), query=q, sort=chosen, page=parse_id(page) or 1
    )
    context = page_context(
        request,
        session,
        user,
        section="contacts",
        q=q,
        sort=chosen,
        sorts=SORT_LABELS,
        found=found,
    )
    return render(request, "contacts.html", context, block="results")


@router.get("/{contact_id}")
def contact_page(
    request: Request, session: SessionDep, user: CurrentUser, contact_id: DbId
) -> Response:
    """The contact, their conversations, and their log (each entry links to its conversation)."""
    contact = get_contact(session, user, contact_id)
    context = page_context(
        request,
        session,
        user,
        contact=contact,
        conversations=contact_conversations(session, user, contact.id),
        events=contact_events(session, user, contact.id),
        can_merge=is_manager(user),
    )
    return render(request, "contact.html", context, block="contact_card")


@router.get("/{contact_id}/edit")
def contact_edit(
    request: Request, session: SessionDep, user: CurrentUser, contact_id: DbId
) -> Response:
    """The contact card as a form (swapped in place of the card)."""
    contact = get_contact(session, user, contact_id)
    context = page_context(request, session, user, contact=contact, error=None)
    return render(request, "partials/contact_card.html", context, block="edit")


@router.get("/{contact_id}/card")
def contact_card(
    request: Request, session: SessionDep, user: CurrentUser, contact_id: DbId
) -> Response:
    """The contact card (Cancel on the form)."""
    contact = get_contact(session, user, contact_id)
    context = page_context(request, session, user, contact=contact)
    return render(request, "partials/contact_card.html", context, block="card")


@router.post("/{contact_id}", dependencies=[CsrfProtected])
def contact_save(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    contact_id: DbId,
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
) -> Response:
    """Save the card; on bad input show the form again with the reason, nothing saved."""
    contact = get_contact(session, user, contact_id)
    name, email = name.strip(), email.strip()
    error = None
    if len(name) > NAME_MAX:
        error = f"Name can be at most {NAME_MAX} characters"
    elif email and ("@" not in email or len(email) > EMAIL_MAX or " " in email):
        error = "That email address does not look right"
    if error:
        context = page_context(request, session, user, contact=contact, error=error)
        context["form"] = {"name": name, "email": email}
        return render(request, "partials/contact_card.html", context, block="edit", status_code=422)
    contact.name = name
    contact.email = email or None
    for conversation_id, inbox_id in session.execute(
        select(Conversation.id, Conversation.inbox_id).where(Conversation.contact_id == contact.id)
    ):
        live.publish(
            session,
            live.CONVERSATION_UPDATED,
            conversation_id=conversation_id,
            inbox_id=inbox_id,
            data={"contact_id": contact.id},
        )
    session.commit()
    context = page_context(request, session, user, contact=contact)
    return render(request, "partials/contact_card.html", context, block="card")
