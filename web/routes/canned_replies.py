"""Canned replies for agents: the composer's ``/`` picker, and each user's own replies on
their account page (``/account/canned-replies``). Admins manage the shared and inbox replies
in ``web/settings/canned_replies.py``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import SessionDep
from inbox.limits import DbId
from inbox.models import CannedReply, CannedScope, User
from inbox.services import canned_replies
from inbox.services.admin.errors import SettingsError
from inbox.services.outbound import MAX_BODY_CHARS
from web.auth import CsrfProtected, CurrentUser
from web.deps import page_context
from web.merge import MERGE_FIELDS
from web.queries import get_conversation
from web.templating import render

router = APIRouter(tags=["web"])
ACCOUNT = "/account/canned-replies"


@router.get("/conversations/{conversation_id}/canned-replies")
def picker(
    request: Request, session: SessionDep, user: CurrentUser, conversation_id: DbId, q: str = ""
) -> Response:
    """The ``/`` picker's matches: shared replies, the conversation's inbox's, and the
    caller's own (404 for a conversation the caller may not see)."""
    conversation = get_conversation(session, user, conversation_id)
    query = q[:100]
    matches = canned_replies.search(session, user=user, inbox_id=conversation.inbox_id, query=query)
    context = page_context(request, session, user, live=False, replies=matches, q=query)
    return render(request, "partials/canned_picker.html", context)


def _show(request: Request, session: SessionDep, user: User, **extra: Any) -> Response:
    status_code = extra.pop("status_code", 200)
    context = page_context(
        request,
        session,
        user,
        section="account",
        replies=canned_replies.personal(session, owner_id=user.id),
        merge_fields=MERGE_FIELDS,
        max_body=MAX_BODY_CHARS,
        form=extra.pop("form", {}),
        **{"error": None, **extra},
    )
    return render(request, "account_canned.html", context, status_code=status_code)


def _own(session: SessionDep, user: User, reply_id: int) -> CannedReply:
    found = canned_replies.own_reply(session, owner_id=user.id, reply_id=reply_id)
    if found is None:
        raise HTTPException(status_code=404, detail="No such canned reply")
    return found


@router.get(ACCOUNT)
def my_replies(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """The caller's personal replies and a form to add one."""
    return _show(request, session, user)


@router.post(ACCOUNT, dependencies=[CsrfProtected])
def my_reply_create(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    title: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
) -> Response:
    """Add a personal reply."""
    try:
        canned_replies.create(
            session, scope=CannedScope.PERSONAL, owner_id=user.id, title=title, body=body
        )
    except SettingsError as exc:
        session.rollback()
        form = {"title": title, "body": body}
        return _show(request, session, user, error=str(exc), form=form, status_code=422)
    session.commit()
    return RedirectResponse(ACCOUNT, status_code=303)


@router.post(ACCOUNT + "/{reply_id}", dependencies=[CsrfProtected])
def my_reply_update(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    reply_id: DbId,
    title: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
) -> Response:
    """Change one of the caller's replies."""
    reply = _own(session, user, reply_id)
    try:
        canned_replies.update(session, reply=reply, title=title, body=body)
    except SettingsError as exc:
        session.rollback()
        return _show(request, session, user, error=str(exc), status_code=422)
    session.commit()
    return RedirectResponse(ACCOUNT, status_code=303)


@router.post(ACCOUNT + "/{reply_id}/delete", dependencies=[CsrfProtected])
def my_reply_delete(
    request: Request, session: SessionDep, user: CurrentUser, reply_id: DbId
) -> Response:
    """Remove one of the caller's replies."""
    canned_replies.delete(session, reply=_own(session, user, reply_id))
    session.commit()
    return RedirectResponse(ACCOUNT, status_code=303)
