"""Settings · API keys for the JSON API: create (the key is shown once) with its scopes (read
or read-write; every inbox or chosen ones), revoke, last used."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select

from api.deps import SessionDep
from inbox.limits import DbId, parse_id
from inbox.models import ApiKey, ApiKeyAccess, Inbox, User
from inbox.services.admin import api_keys
from inbox.services.admin.errors import SettingsError
from web.auth import AdminUser, CsrfProtected
from web.settings.common import admin_router, back, page

router: APIRouter = admin_router("api-keys")


def _show(request: Request, session: SessionDep, user: AdminUser, **extra: Any) -> Response:
    return page(
        request,
        session,
        user,
        "api_keys.html",
        "api-keys",
        keys=api_keys.list_keys(session),
        people={u.id: u.name for u in session.scalars(select(User))},
        all_inboxes=list(session.scalars(select(Inbox).order_by(Inbox.name))),
        **extra,
    )


@router.get("")
def api_keys_page(request: Request, session: SessionDep, user: AdminUser) -> Response:
    """The keys (never their secrets) and a form to create one."""
    return _show(request, session, user)


@router.post("", dependencies=[CsrfProtected])
def api_key_create(
    request: Request,
    session: SessionDep,
    user: AdminUser,
    name: Annotated[str, Form()] = "",
    access: Annotated[str, Form()] = ApiKeyAccess.READ_WRITE,
    scope: Annotated[str, Form()] = "all",
    inbox_ids: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Create a key and show it once; only its hash is kept. Answered with the page (not a
    redirect) so the secret never sits in a URL or the history. ``scope`` "all": every inbox;
    "chosen": only the ticked ``inbox_ids``."""
    chosen = None
    if scope == "chosen":
        chosen = [i for v in inbox_ids or [] if (i := parse_id(v)) is not None]
    try:
        row, plain = api_keys.create(
            session, name=name, access=access, inbox_ids=chosen, actor_id=user.id
        )
    except SettingsError as exc:
        session.rollback()
        return _show(request, session, user, error=str(exc), status_code=422)
    session.commit()
    no_store = {"Cache-Control": "no-store"}
    return _show(request, session, user, new_key=row, plain_key=plain, headers=no_store)


@router.post("/{key_id}/revoke", dependencies=[CsrfProtected])
def api_key_revoke(
    request: Request, session: SessionDep, user: AdminUser, key_id: DbId
) -> Response:
    """Revoke a key at once."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise HTTPException(status_code=404, detail="No such API key")
    try:
        api_keys.revoke(session, key=key, actor_id=user.id)
    except SettingsError as exc:
        session.rollback()
        return _show(request, session, user, error=str(exc), status_code=409)
    session.commit()
    return back("/settings/api-keys")
