"""``/api/v1/conversations``: list, read with timeline, start, send, close, reopen, assign, move.

Changing routes do their database work in a worker thread (SQLAlchemy here is synchronous),
commit, then flush the conversation's pending workflow signals. The flush never fails the
request: if Temporal is down the signals stay in the outbox and the relay delivers them later.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload
from starlette.concurrency import run_in_threadpool

from api.auth import ApiScope, require_api_key
from api.deps import Commit, CommitDep, SessionDep
from api.errors import Refused
from api.schemas import (
    AssignIn,
    ContactEventOut,
    ConversationDetail,
    ConversationOut,
    ConversationPage,
    ErrorOut,
    MessageOut,
    MoveIn,
    SendMessageIn,
    SnoozeIn,
    StartConversationIn,
    TagIn,
    TimelineItem,
)
from inbox.limits import DbId
from inbox.models import (
    Channel,
    Contact,
    ContactEvent,
    Conversation,
    ConversationStatus,
    Message,
    utcnow,
)
from inbox.services import conversations as service
from inbox.services import scheduled, snooze, tags, visibility
from inbox.services.admin import blocklist
from inbox.services.conversations import ConversationActionError
from inbox.services.outbound import OutboundBlocked, queue_message

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "No such conversation"}
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "Not allowed in the conversation's current state"}
}

router = APIRouter(
    prefix="/api/v1/conversations",
    tags=["conversations"],
    dependencies=[Depends(require_api_key)],
    responses={401: {"model": ErrorOut, "description": "Missing, invalid or revoked API key"}},
)


def field_error(field: str, message: str, *, where: str = "body") -> HTTPException:
    """A 422 naming the field at fault, shaped like FastAPI's own validation errors."""
    return HTTPException(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[{"loc": [where, field], "msg": message, "type": "value_error"}],
    )


def action_error(exc: ConversationActionError) -> HTTPException:
    """422 naming the field for bad input, 409 for an action the current state refuses."""
    if exc.field is not None:
        return field_error(exc.field, str(exc))
    return HTTPException(status_code=status.HTTP_409_CONFLICT, detail=str(exc))


def get_conversation(
    session: Session, conversation_id: int, scope: visibility.Scope
) -> Conversation:
    """The conversation, or 404 when there is none or the key may not see it (the same
    answer: a key learns nothing of other inboxes)."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or not scope.sees(conversation):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"conversation {conversation_id} not found")
    return conversation


def _encode_cursor(row: Conversation) -> str:
    raw = json.dumps([row.last_message_at.isoformat(), row.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, row_id = json.loads(raw)
        return datetime.fromisoformat(at), int(row_id)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise field_error("cursor", "not a cursor from a previous page", where="query") from exc


@router.get("", response_model=ConversationPage)
def list_conversations(
    session: SessionDep,
    scope: ApiScope,
    status_: Annotated[ConversationStatus | None, Query(alias="status")] = None,
    inbox_id: DbId | None = None,
    assignee_id: Annotated[DbId | None, Query(description="Only this user's.")] = None,
    assignee: Annotated[
        Literal["none"] | None, Query(description="`none`: only unassigned conversations.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> ConversationPage:
    """Conversations, newest message first, filtered and paged (keyset, stable under inserts)."""
    if assignee_id is not None and assignee is not None:
        raise field_error("assignee", "give assignee_id or assignee=none, not both", where="query")
    query = (
        select(Conversation)
        .where(visibility.conversations(scope))
        .options(selectinload(Conversation.contact))
    )
    if status_ is not None:
        query = query.where(Conversation.status == status_)
    if inbox_id is not None:
        query = query.where(Conversation.inbox_id == inbox_id)
    if assignee_id is not None:
        query = query.where(Conversation.assignee_id == assignee_id)
    if assignee == "none":
        query = query.where(Conversation.assignee_id.is_(None))
    if cursor is not None:
        at, row_id = _decode_cursor(cursor)
        query = query.where(
            or_(
                Conversation.last_message_at < at,
                and_(Conversation.last_message_at == at, Conversation.id < row_id),
            )
        )
    query = query.order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
    rows = list(session.scalars(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return ConversationPage(
        items=[ConversationOut.from_row(row) for row in rows],
        next_cursor=_encode_cursor(rows[-1]) if more else None,
    )


@router.get("/{conversation_id}", response_model=ConversationDetail, responses=NOT_FOUND)
def get_conversation_detail(
    conversation_id: DbId, session: SessionDep, scope: ApiScope
) -> ConversationDetail:
    """One conversation with its timeline: messages and events merged, oldest first."""
    conversation = get_conversation(session, conversation_id, scope)
    messages = session.scalars(
        select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
    )
    events = session.scalars(
        select(ContactEvent)
        .where(ContactEvent.conversation_id == conversation_id)
        .order_by(ContactEvent.id)
    )
    timeline = [
        TimelineItem(type="message", at=m.created_at, message=MessageOut.model_validate(m))
        for m in messages
    ] + [
        TimelineItem(type="event", at=e.occurred_at, event=ContactEventOut.model_validate(e))
        for e in events
    ]
    # Stable sort: equal times keep messages before events, each in id order.
    timeline.sort(key=lambda item: item.at)
    base = ConversationOut.from_row(conversation)
    return ConversationDetail(**base.model_dump(), timeline=timeline)


@router.post(
    "",
    response_model=ConversationOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        409: {"model": ErrorOut, "description": "The number already has an open conversation"}
    },
)
def start_conversation(
    payload: StartConversationIn, session: SessionDep, scope: ApiScope
) -> ConversationOut:
    """Start a conversation with one of a contact's numbers on a channel (then send to it)."""
    channel = session.get(Channel, payload.channel_id)
    if channel is None or not scope.sees_inbox(channel.default_inbox_id):
        raise field_error("channel_id", f"no channel with id {payload.channel_id}")
    contact = session.get(Contact, payload.contact_id)
    if contact is None or not visibility.can_see_contact(session, scope, contact.id):
        raise field_error("contact_id", f"no contact with id {payload.contact_id}")
    try:
        conversation = service.start_conversation(
            session, channel=channel, contact=contact, number=payload.number
        )
    except ConversationActionError as exc:
        session.rollback()
        raise action_error(exc) from exc
    session.commit()
    return ConversationOut.from_row(conversation)


@router.post(
    "/{conversation_id}/messages",
    response_model=MessageOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        **NOT_FOUND,
        409: {"model": ErrorOut, "description": "Sending is blocked (opt-out, spam …)"},
    },
)
async def send_message(
    conversation_id: DbId,
    payload: SendMessageIn,
    session: SessionDep,
    commit: CommitDep,
    scope: ApiScope,
) -> MessageOut:
    """Queue an outbound message; its workflow delivers it. 202: accepted, not yet sent."""

    def queue() -> MessageOut:
        conversation = get_conversation(session, conversation_id, scope)
        # The shape inbound media is stored in: {"url", and "content_type" when known}.
        media = [
            {"url": str(item.url)}
            | ({"content_type": item.content_type} if item.content_type else {})
            for item in payload.media
        ]
        try:
            later = (
                scheduled.inbox_time(conversation, payload.send_at, utcnow())
                if payload.send_at is not None
                else None
            )
        except scheduled.ScheduleError as exc:
            raise field_error("send_at", str(exc)) from exc
        try:
            message = queue_message(
                session,
                conversation=conversation,
                body=payload.body,
                media=media,
                automated=payload.automated,
                held_until=later,
            )
        except OutboundBlocked as exc:
            raise Refused.send(exc) from exc
        commit()
        return MessageOut.model_validate(message)

    return await run_in_threadpool(queue)


async def _act(
    session: Session,
    commit: Commit,
    scope: visibility.Scope,
    conversation_id: int,
    action: Callable[[Conversation], object],
) -> ConversationOut:
    """Load (404), apply ``action`` (409/422), commit (the workflow's signals go after)."""

    def work() -> ConversationOut:
        conversation = get_conversation(session, conversation_id, scope)
        try:
            action(conversation)
        except ConversationActionError as exc:
            session.rollback()
            raise action_error(exc) from exc
        commit()
        return ConversationOut.from_row(conversation)

    return await run_in_threadpool(work)


@router.post(
    "/{conversation_id}/close", response_model=ConversationOut, responses=NOT_FOUND | CONFLICT
)
async def close_conversation(
    conversation_id: DbId, session: SessionDep, commit: CommitDep, scope: ApiScope
) -> ConversationOut:
    """Close an open conversation."""
    return await _act(
        session, commit, scope, conversation_id, lambda c: service.close(session, conversation=c)
    )


@router.post(
    "/{conversation_id}/reopen", response_model=ConversationOut, responses=NOT_FOUND | CONFLICT
)
async def reopen_conversation(
    conversation_id: DbId, session: SessionDep, commit: CommitDep, scope: ApiScope
) -> ConversationOut:
    """Reopen a closed conversation."""
    return await _act(
        session, commit, scope, conversation_id, lambda c: service.reopen(session, conversation=c)
    )


@router.post(
    "/{conversation_id}/assign", response_model=ConversationOut, responses=NOT_FOUND | CONFLICT
)
async def assign_conversation(
    conversation_id: DbId,
    payload: AssignIn,
    session: SessionDep,
    commit: CommitDep,
    scope: ApiScope,
) -> ConversationOut:
    """Assign to a user, or unassign with ``{"assignee_id": null}``."""
    return await _act(
        session,
        commit,
        scope,
        conversation_id,
        lambda c: service.assign(session, conversation=c, assignee_id=payload.assignee_id),
    )


@router.post(
    "/{conversation_id}/move", response_model=ConversationOut, responses=NOT_FOUND | CONFLICT
)
async def move_conversation(
    conversation_id: DbId, payload: MoveIn, session: SessionDep, commit: CommitDep, scope: ApiScope
) -> ConversationOut:
    """Move to another inbox (the assignee stays); a key limited to some inboxes can move
    only into one of them."""
    if not scope.sees_inbox(payload.inbox_id):
        raise field_error("inbox_id", f"this API key cannot use inbox {payload.inbox_id}")
    return await _act(
        session,
        commit,
        scope,
        conversation_id,
        lambda c: service.move(session, conversation=c, inbox_id=payload.inbox_id),
    )


@router.post(
    "/{conversation_id}/spam", response_model=ConversationOut, responses=NOT_FOUND | CONFLICT
)
async def mark_conversation_spam(
    conversation_id: DbId, session: SessionDep, commit: CommitDep, scope: ApiScope
) -> ConversationOut:
    """Mark as spam (its workflow hears ``closed``)."""
    return await _act(
        session,
        commit,
        scope,
        conversation_id,
        lambda c: blocklist.mark_spam(session, conversation=c),
    )


@router.post(
    "/{conversation_id}/tags",
    response_model=ConversationOut,
    responses=NOT_FOUND
    | {409: {"model": ErrorOut, "description": "Already tagged, or 20 tags already"}},
)
async def add_conversation_tag(
    conversation_id: DbId, payload: TagIn, session: SessionDep, commit: CommitDep, scope: ApiScope
) -> ConversationOut:
    """Tag the conversation (logged on its timeline; rules with tag conditions see it). A
    malformed tag is a 422 naming ``tag``."""
    return await _act(
        session,
        commit,
        scope,
        conversation_id,
        lambda c: tags.add_tag(session, conversation=c, tag=payload.tag),
    )


@router.delete(
    "/{conversation_id}/tags/{tag}",
    response_model=ConversationOut,
    responses=NOT_FOUND | {409: {"model": ErrorOut, "description": "Not tagged so"}},
)
async def remove_conversation_tag(
    conversation_id: DbId,
    tag: Annotated[str, Path(max_length=200)],
    session: SessionDep,
    commit: CommitDep,
    scope: ApiScope,
) -> ConversationOut:
    """Remove a tag (URL-encoded in the path)."""
    return await _act(
        session,
        commit,
        scope,
        conversation_id,
        lambda c: tags.remove_tag(session, conversation=c, tag=tag),
    )


@router.post(
    "/{conversation_id}/snooze", response_model=ConversationOut, responses=NOT_FOUND | CONFLICT
)
async def snooze_conversation(
    conversation_id: DbId,
    payload: SnoozeIn,
    session: SessionDep,
    commit: CommitDep,
    scope: ApiScope,
) -> ConversationOut:
    """Snooze an open conversation until a time, ``tomorrow`` or ``reply``: it leaves the open
    views and comes back (unread for its assignee) when the time comes or the contact writes."""

    def work() -> ConversationOut:
        conversation = get_conversation(session, conversation_id, scope)
        try:
            until = snooze.parse_until(conversation, payload.until, utcnow())
        except snooze.SnoozeError as exc:
            raise field_error("until", str(exc)) from exc
        try:
            snooze.snooze(session, conversation=conversation, until=until, actor=None)
        except snooze.SnoozeError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
        commit()
        return ConversationOut.from_row(conversation)

    return await run_in_threadpool(work)


@router.post(
    "/{conversation_id}/unsnooze", response_model=ConversationOut, responses=NOT_FOUND | CONFLICT
)
async def unsnooze_conversation(
    conversation_id: DbId, session: SessionDep, commit: CommitDep, scope: ApiScope
) -> ConversationOut:
    """End a snooze now (409 when the conversation is not snoozed)."""

    def work() -> ConversationOut:
        conversation = get_conversation(session, conversation_id, scope)
        try:
            snooze.unsnooze(session, conversation=conversation, actor=None)
        except snooze.SnoozeError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
        commit()
        return ConversationOut.from_row(conversation)

    return await run_in_threadpool(work)
