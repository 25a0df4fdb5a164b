"""Merging two contacts from a contact's page: pick the other contact (a search picker),
confirm, merge (:mod:`inbox.services.contact_merge`). Managers and admins only; both contacts
must be ones the user may see."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from api.deps import SessionDep
from inbox.limits import DbId, parse_id
from inbox.models import Contact, User
from inbox.services.contact_merge import MergeError, merge_contacts
from web.auth import CsrfProtected, CurrentUser, is_manager
from web.contact_list import ContactSort, list_contacts
from web.deps import page_context
from web.queries import scope
from web.routes.contacts import get_contact
from web.templating import render

router = APIRouter(prefix="/contacts", tags=["web"])

# The picker shows this many matches; typing more narrows it.
CANDIDATES = 20


def _manager(user: User) -> None:
    if not is_manager(user):
        raise HTTPException(status_code=403, detail="Only managers and admins can merge contacts")


def _merge_page(
    request: Request,
    session: Session,
    user: User,
    contact: Contact,
    *,
    q: str,
    other: Contact | None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    found = list_contacts(
        session, scope(session, user), query=q, sort=ContactSort.NAME, page=1
    ).rows
    candidates = [row.contact for row in found if row.contact.id != contact.id][:CANDIDATES]
    context = page_context(
        request,
        session,
        user,
        section="contacts",
        contact=contact,
        q=q,
        other=other,
        candidates=candidates,
        error=error,
    )
    return render(
        request, "contact_merge.html", context, block="candidates", status_code=status_code
    )


@router.get("/{contact_id}/merge")
def merge_page(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    contact_id: DbId,
    q: str = "",
    other_id: str = "",
) -> Response:
    """Pick the contact to merge into this one; with ``other_id``, what the merge will do and
    the button that does it. An htmx request (the search box) gets just the matches."""
    _manager(user)
    contact = get_contact(session, user, contact_id)
    other = None
    wanted = parse_id(other_id)
    if wanted is not None and wanted != contact.id:
        other = get_contact(session, user, wanted)
    return _merge_page(request, session, user, contact, q=q, other=other)


@router.post("/{contact_id}/merge", dependencies=[CsrfProtected])
def merge(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    contact_id: DbId,
    other_id: Annotated[str, Form()] = "",
) -> Response:
    """Merge ``other_id`` into this contact, then show this contact's page."""
    _manager(user)
    contact = get_contact(session, user, contact_id)
    wanted = parse_id(other_id)
    if wanted is None:
        return _merge_page(
            request,
            session,
            user,
            contact,
            q="",
            other=None,
            error="Pick the contact to merge into this one",
            status_code=422,
        )
    try:
        merge_contacts(
            session,
            keep_id=contact.id,
            other_id=wanted,
            scope=scope(session, user),
            actor_id=user.id,
        )
    except MergeError as exc:
        session.rollback()
        if exc.not_found:
            raise HTTPException(status_code=404, detail="Contact not found") from exc
        return _merge_page(
            request, session, user, contact, q="", other=None, error=str(exc), status_code=422
        )
    session.commit()
    return RedirectResponse(f"/contacts/{contact_id}", status_code=303)
