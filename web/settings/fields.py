"""Settings · Custom fields on conversations and contacts (text, number, date, choice)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from api.deps import SessionDep
from inbox.limits import DbId
from inbox.models import CustomFieldDefinition
from inbox.models.settings import FieldEntity, FieldType
from inbox.services.admin import fields
from inbox.services.admin.errors import SettingsError
from web.auth import AdminUser, CsrfProtected
from web.settings.common import admin_router, back, page

router: APIRouter = admin_router("fields")


def _show(request: Request, session: SessionDep, user: AdminUser, **extra: Any) -> Response:
    return page(
        request,
        session,
        user,
        "fields.html",
        "fields",
        definitions=fields.definitions(session),
        entities=[FieldEntity.CONTACT, FieldEntity.CONVERSATION],
        types=list(FieldType),
        **extra,
    )


def _definition(session: SessionDep, field_id: DbId) -> CustomFieldDefinition:
    found = session.get(CustomFieldDefinition, field_id)
    if found is None:
        raise HTTPException(status_code=404, detail="No such field")
    return found


@router.get("")
def fields_page(request: Request, session: SessionDep, user: AdminUser) -> Response:
    """The defined fields and a form to add one."""
    return _show(request, session, user)


@router.post("", dependencies=[CsrfProtected])
def field_create(
    request: Request,
    session: SessionDep,
    user: AdminUser,
    entity: Annotated[str, Form()] = FieldEntity.CONTACT,
    key: Annotated[str, Form()] = "",
    label: Annotated[str, Form()] = "",
    type: Annotated[str, Form()] = FieldType.TEXT,
    choices: Annotated[str, Form()] = "",
) -> Response:
    """Define a field."""
    try:
        fields.create_field(
            session,
            entity=entity,
            key=key,
            label=label,
            type=type,
            choices=fields.parse_choices(choices),
            actor_id=user.id,
        )
    except SettingsError as exc:
        session.rollback()
        return _show(request, session, user, error=str(exc), status_code=422)
    session.commit()
    return back("/settings/fields")


@router.post("/{field_id}", dependencies=[CsrfProtected])
def field_update(
    request: Request,
    session: SessionDep,
    user: AdminUser,
    field_id: DbId,
    label: Annotated[str, Form()] = "",
    choices: Annotated[str, Form()] = "",
) -> Response:
    """Change a field's label or choices."""
    definition = _definition(session, field_id)
    try:
        fields.update_field(
            session,
            definition=definition,
            label=label,
            choices=fields.parse_choices(choices),
            actor_id=user.id,
        )
    except SettingsError as exc:
        session.rollback()
        return _show(request, session, user, error=str(exc), status_code=422)
    session.commit()
    return back("/settings/fields")


@router.post("/{field_id}/delete", dependencies=[CsrfProtected])
def field_delete(
    request: Request, session: SessionDep, user: AdminUser, field_id: DbId
) -> Response:
    """Remove a field definition (stored values are kept)."""
    fields.delete_field(session, definition=_definition(session, field_id), actor_id=user.id)
    session.commit()
    return back("/settings/fields")
