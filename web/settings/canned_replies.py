"""Settings · Canned replies: the shared ones (every conversation) and each inbox's own.

Personal replies are not here: each user keeps theirs on their account page
(``web/routes/canned_replies.py``), and nobody else sees them, admins included."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from api.deps import SessionDep
from inbox.limits import DbId, parse_id
from inbox.models import CannedReply, CannedScope
from inbox.services import canned_replies
from inbox.services.admin import inboxes
from inbox.services.admin.errors import SettingsError
from inbox.services.outbound import MAX_BODY_CHARS
from web.auth import AdminUser, CsrfProtected
from web.merge import MERGE_FIELDS
from web.settings.common import admin_router, back, page

router: APIRouter = admin_router("canned-replies")


def _show(request: Request, session: SessionDep, user: AdminUser, **extra: Any) -> Response:
    all_inboxes = inboxes.list_inboxes(session)
    return page(
        request,
        session,
        user,
        "canned_replies.html",
        "canned-replies",
        replies=canned_replies.managed_by_admins(session),
        inboxes=all_inboxes,
        inbox_names={i.id: i.name for i in all_inboxes},
        merge_fields=MERGE_FIELDS,
        max_body=MAX_BODY_CHARS,
        form=extra.pop("form", {}),
        **extra,
    )


def _reply(session: SessionDep, reply_id: DbId) -> CannedReply:
    found = canned_replies.admin_reply(session, reply_id)
    if found is None:
        raise HTTPException(status_code=404, detail="No such canned reply")
    return found


@router.get("")
def canned_replies_page(request: Request, session: SessionDep, user: AdminUser) -> Response:
    """The shared and inbox replies, and a form to add one."""
    return _show(request, session, user)


@router.post("", dependencies=[CsrfProtected])
def canned_reply_create(
    request: Request,
    session: SessionDep,
    user: AdminUser,
    inbox_id: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
) -> Response:
    """Add a reply: for everyone (no inbox chosen) or for one inbox."""
    chosen = parse_id(inbox_id)
    try:
        canned_replies.create(
            session,
            scope=CannedScope.INBOX if inbox_id.strip() else CannedScope.SHARED,
            inbox_id=chosen,
            title=title,
            body=body,
            actor_id=user.id,
        )
    except SettingsError as exc:
        session.rollback()
        form = {"inbox_id": inbox_id, "title": title, "body": body}
        return _show(request, session, user, error=str(exc), form=form, status_code=422)
    session.commit()
    return back("/settings/canned-replies")


@router.post("/{reply_id}", dependencies=[CsrfProtected])
def canned_reply_update(
    request: Request,
    session: SessionDep,
    user: AdminUser,
    reply_id: DbId,
    title: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
) -> Response:
    """Change a reply's title and text."""
    reply = _reply(session, reply_id)
    try:
        canned_replies.update(session, reply=reply, title=title, body=body, actor_id=user.id)
    except SettingsError as exc:
        session.rollback()
        return _show(request, session, user, error=str(exc), status_code=422)
    session.commit()
    return back("/settings/canned-replies")


@router.post("/{reply_id}/delete", dependencies=[CsrfProtected])
def canned_reply_delete(
    request: Request, session: SessionDep, user: AdminUser, reply_id: DbId
) -> Response:
    """Remove a reply."""
    canned_replies.delete(session, reply=_reply(session, reply_id), actor_id=user.id)
    session.commit()
    return back("/settings/canned-replies")
