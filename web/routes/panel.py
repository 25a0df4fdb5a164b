"""The right panel's edits: a custom field of the contact or the conversation set in place, a
contact number added or removed. Each answers with the changed parts as out-of-band swaps; a
refused edit answers 422 with the panel showing the reason next to the input."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from api.deps import CommitDep, SessionDep
from inbox.limits import DbId
from inbox.models import Conversation, User
from inbox.services import contact_fields
from web.auth import CsrfProtected, CurrentUser
from web.deps import live_position, page_context
from web.details import PanelError, details_context
from web.queries import ListQuery, get_conversation
from web.routes.inbox import conversation_context
from web.templating import render

router = APIRouter(prefix="/conversations", tags=["web"], dependencies=[CsrfProtected])


def _answer(
    request: Request,
    session: SessionDep,
    user: User,
    conversation: Conversation,
    error: PanelError | None = None,
) -> Response:
    """The timeline and details as they are now (or, refused, the details with the reason)."""
    if error is not None:
        session.rollback()  # nothing of a refused edit stays in the session
    live_after = live_position(session)
    session.expire_all()
    context = page_context(
        request,
        session,
        user,
        **conversation_context(session, user, conversation, live_after=live_after),
    )
    context.update(details_context(session, conversation, error))
    return render(
        request,
        "inbox.html",
        {**context, "query": ListQuery()},
        blocks=["details"] if error else ["timeline", "details"],
        fragment=True,
        status_code=422 if error else 200,
        headers=None if error else {"HX-Trigger": "list-refresh"},
    )


@router.post("/{conversation_id}/fields/{entity}/{key}")
def set_field(
    request: Request,
    session: SessionDep,
    commit: CommitDep,
    user: CurrentUser,
    conversation_id: DbId,
    entity: str,
    key: str,
    value: Annotated[str, Form()] = "",
) -> Response:
    """Set (blank: clear) a custom field of the conversation or of its contact."""
    conversation = get_conversation(session, user, conversation_id)
    try:
        contact_fields.set_field(
            session, conversation=conversation, entity=entity, key=key, raw=value, actor=user
        )
    except contact_fields.UnknownField as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except contact_fields.PanelError as exc:
        error = PanelError(f"{entity}.{key}", str(exc), {"value": value})
        return _answer(request, session, user, conversation, error)
    commit()
    return _answer(request, session, user, conversation)


@router.post("/{conversation_id}/contact/numbers")
def add_number(
    request: Request,
    session: SessionDep,
    commit: CommitDep,
    user: CurrentUser,
    conversation_id: DbId,
    number: Annotated[str, Form()] = "",
    label: Annotated[str, Form()] = "mobile",
) -> Response:
    """Add a number to the conversation's contact."""
    conversation = get_conversation(session, user, conversation_id)
    try:
        contact_fields.add_number(
            session, conversation=conversation, raw=number, label=label, actor=user
        )
    except contact_fields.PanelError as exc:
        error = PanelError("numbers", str(exc), {"number": number, "label": label})
        return _answer(request, session, user, conversation, error)
    commit()
    return _answer(request, session, user, conversation)


@router.post("/{conversation_id}/contact/numbers/{number_id}/delete")
def remove_number(
    request: Request,
    session: SessionDep,
    commit: CommitDep,
    user: CurrentUser,
    conversation_id: DbId,
    number_id: DbId,
) -> Response:
    """Remove a number from the conversation's contact."""
    conversation = get_conversation(session, user, conversation_id)
    try:
        contact_fields.remove_number(
            session, conversation=conversation, number_id=number_id, actor=user
        )
    except contact_fields.PanelError as exc:
        error = PanelError("numbers", str(exc), {})
        return _answer(request, session, user, conversation, error)
    commit()
    return _answer(request, session, user, conversation)
