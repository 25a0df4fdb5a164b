"""Settings · Spam blocklist: who blocked which number or contact and when; block by hand,
unblock, and "mark as not spam" for spam conversations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select

from api.deps import CommitDep, SessionDep
from inbox.limits import DbId
from inbox.models import BlockedNumber, Contact, Conversation, ConversationStatus, User
from inbox.phone import InvalidNumber
from inbox.services.admin import blocklist
from inbox.services.conversations import ConversationActionError
from web.auth import AdminUser, CsrfProtected
from web.settings.common import admin_router, back, page

router: APIRouter = admin_router("blocklist")


def _show(request: Request, session: SessionDep, user: AdminUser, **extra: Any) -> Response:
    entries = blocklist.entries(session)
    people = {u.id: u.name for u in session.scalars(select(User))}
    contact_ids = {e.contact_id for e in entries if e.contact_id is not None}
    contacts = (
        {c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(contact_ids)))}
        if contact_ids
        else {}
    )
    spam = list(
        session.scalars(
            select(Conversation)
            .where(Conversation.status == ConversationStatus.SPAM)
            .order_by(Conversation.last_message_at.desc())
            .limit(50)
        )
    )
    return page(
        request,
        session,
        user,
        "blocklist.html",
        "blocklist",
        entries=entries,
        people=people,
        contacts=contacts,
        spam=spam,
        **extra,
    )


@router.get("")
def blocklist_page(request: Request, session: SessionDep, user: AdminUser) -> Response:
    """The blocklist and the latest spam conversations."""
    return _show(request, session, user)


@router.post("", dependencies=[CsrfProtected])
def block_number(
    request: Request,
    session: SessionDep,
    commit: CommitDep,
    user: AdminUser,
    number: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Block a number by hand; its conversations move to spam."""
    try:
        blocklist.block_number(session, number=number, actor_id=user.id, reason=reason)
    except (InvalidNumber, blocklist.BlocklistError) as exc:
        session.rollback()
        return _show(request, session, user, error=f"number: {exc}", status_code=422)
    commit()
    return back("/settings/blocklist")


@router.post("/{entry_id}/unblock", dependencies=[CsrfProtected])
def unblock(
    request: Request, session: SessionDep, commit: CommitDep, user: AdminUser, entry_id: DbId
) -> Response:
    """Remove an entry; conversations no longer covered return to open or closed."""
    entry = session.get(BlockedNumber, entry_id)
    if entry is None:
        raise HTTPException(status_code=404, detail="No such blocklist entry")
    blocklist.unblock(session, entry=entry, actor_id=user.id)
    commit()
    return back("/settings/blocklist")


@router.post("/conversations/{conversation_id}/not-spam", dependencies=[CsrfProtected])
def not_spam(
    request: Request, session: SessionDep, commit: CommitDep, user: AdminUser, conversation_id: DbId
) -> Response:
    """Mark as not spam: lift the sender's block and restore all their conversations."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise HTTPException(status_code=404, detail="No such conversation")
    try:
        blocklist.mark_not_spam(session, conversation=conversation, actor_id=user.id)
    except ConversationActionError as exc:
        session.rollback()
        return _show(request, session, user, error=str(exc), status_code=409)
    commit()
    return back("/settings/blocklist")
