"""Settings · Merge fields: what messages and rule templates can use, with a live preview
rendered against a real contact by the automation engine's sandbox."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from api.deps import SessionDep, SettingsDep
from inbox.models import Contact
from inbox.services.admin import merge_fields
from web.auth import AdminUser, CsrfProtected
from web.settings.common import admin_router, page

router: APIRouter = admin_router("merge-fields")

SAMPLE = "Hi {{ contact.first_name }}, this is {{ assignee.first_name }} from {{ inbox.name }}."


def _show(request: Request, session: SessionDep, user: AdminUser, **extra: Any) -> Response:
    contacts = list(session.scalars(select(Contact).order_by(Contact.id.desc()).limit(200)))
    return page(
        request,
        session,
        user,
        "merge_fields.html",
        "merge-fields",
        fields=merge_fields.available(session),
        contacts=contacts,
        **{"template": SAMPLE, "result": None, "contact_id": None, **extra},
    )


@router.get("")
def merge_fields_page(request: Request, session: SessionDep, user: AdminUser) -> Response:
    """Every merge field and the preview form."""
    return _show(request, session, user)


@router.post("/preview", dependencies=[CsrfProtected])
def merge_fields_preview(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: AdminUser,
    template: Annotated[str, Form()] = "",
    contact_id: Annotated[int, Form()] = 0,
) -> Response:
    """Render ``template`` for the chosen contact (htmx: just the preview block)."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        result = merge_fields.Preview(problems=["choose a contact"])
    else:
        result = merge_fields.preview(
            session, template=template, contact=contact, public_url=settings.public_url
        )
    return page(
        request,
        session,
        user,
        "merge_fields.html",
        "merge-fields",
        block="preview",
        fields=merge_fields.available(session),
        contacts=list(session.scalars(select(Contact).order_by(Contact.id.desc()).limit(200))),
        template=template,
        result=result,
        contact_id=contact_id,
    )
