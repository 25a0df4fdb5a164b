"""What an agent does to an open conversation: reply, assign, move, close, reopen, spam, unread,
notes. Each answers with the changed parts as out-of-band swaps; other pages hear it over SSE."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import Response

from api.deps import CommitDep, SessionDep, SettingsDep
from inbox.limits import DbId, parse_id
from inbox.media import MediaRefused, discard_image, read_upload, store_image
from inbox.models import Conversation, ConversationStatus, EventKind, Message, User, utcnow
from inbox.services import consent, mentions, scheduled, snooze, tags
from inbox.services import conversations as actions
from inbox.services.admin import blocklist
from inbox.services.outbound import OutboundBlocked, cancel_held, queue_message
from web.auth import CsrfProtected, CurrentUser
from web.deps import live_position, page_context
from web.merge import MergeError, merge_values, render_merge_fields
from web.queries import ListQuery, get_conversation, mark_read, mark_unread, visible_inboxes
from web.routes.inbox import conversation_context
from web.templating import render

router = APIRouter(prefix="/conversations", tags=["web"], dependencies=[CsrfProtected])


def _changed(
    request: Request, session: SessionDep, user: User, conversation: Conversation
) -> Response:
    """The header, timeline and details of ``conversation`` as it is now: read again after the
    feed position (which includes this action's own change), see ``conversation_context``."""
    live_after = live_position(session)
    session.expire_all()
    context = page_context(
        request,
        session,
        user,
        **conversation_context(session, user, conversation, live_after=live_after),
    )
    return render(
        request,
        "inbox.html",
        {**context, "query": ListQuery()},
        blocks=["conv_header", "timeline", "consent", "details"],
        fragment=True,
        headers={"HX-Trigger": "list-refresh"},
    )


def _refused(exc: ValueError) -> HTTPException:
    return HTTPException(status_code=409, detail=str(exc))


@router.post("/{conversation_id}/reply")
def reply(
    request: Request,
    session: SessionDep,
    commit: CommitDep,
    user: CurrentUser,
    conversation_id: DbId,
    settings: SettingsDep,
    body: Annotated[str, Form()] = "",
    image: Annotated[UploadFile | None, File()] = None,
    send_at: Annotated[str, Form()] = "",
) -> Response:
    """Send the composer's text (merge fields filled in) from this agent, with its attached
    image (an MMS) if any, now or at ``send_at`` (the picker's time is the inbox's: stored held
    until then, see ``inbox/services/scheduled.py``). A reply on a closed conversation reopens
    it first: the agent has taken it up again, and it belongs in the open views (refused, with
    the reason, when the number has another open conversation there)."""
    conversation = get_conversation(session, user, conversation_id)
    try:
        later = scheduled.inbox_time(conversation, send_at, utcnow()) if send_at.strip() else None
    except scheduled.ScheduleError as exc:
        raise HTTPException(status_code=422, detail=f"Send later: {exc}") from exc
    try:
        text = render_merge_fields(body, merge_values(conversation, conversation.contact, user))
    except MergeError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    media: list[dict[str, Any]] = []
    if image is not None and image.filename:
        try:
            media.append(store_image(settings, read_upload(image.file)))
        except MediaRefused as exc:
            raise HTTPException(status_code=exc.status, detail=str(exc)) from exc
    if not text.strip() and not media:
        raise HTTPException(status_code=422, detail="Type a message first")
    try:
        return _send_reply(request, session, commit, user, conversation, text, media, later)
    except HTTPException:
        for item in media:  # nothing was sent: keep no file for it
            discard_image(settings, item)
        raise


def _send_reply(
    request: Request,
    session: SessionDep,
    commit: CommitDep,
    user: User,
    conversation: Conversation,
    text: str,
    media: list[dict[str, Any]],
    later: datetime | None,
) -> Response:
    if conversation.status == ConversationStatus.CLOSED:
        try:
            actions.reopen(session, conversation=conversation, actor_id=user.id)
        except actions.ConversationActionError as exc:
            raise _refused(exc) from exc
    try:
        queue_message(
            session,
            conversation=conversation,
            body=text,
            media=media,
            author_id=user.id,
            held_until=later,
        )
    except OutboundBlocked as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    session.flush()
    mark_read(session, user=user, conversation=conversation)
    commit()
    return _changed(request, session, user, conversation)


@router.post("/{conversation_id}/assign")
def assign(
    request: Request,
    session: SessionDep,
    commit: CommitDep,
    user: CurrentUser,
    conversation_id: DbId,
    assignee_id: Annotated[str, Form()] = "",
) -> Response:
    """Change the assignee (empty: unassigned)."""
    conversation = get_conversation(session, user, conversation_id)
    target = parse_id(assignee_id)
    if target == conversation.assignee_id:
        return _changed(request, session, user, conversation)
    try:
        actions.assign(session, conversation=conversation, assignee_id=target, actor_id=user.id)
    except actions.ConversationActionError as exc:
        raise _refused(exc) from exc
    commit()
    return _changed(request, session, user, conversation)


@router.post("/{conversation_id}/move")
def move(
    request: Request,
    session: SessionDep,
    commit: CommitDep,
    user: CurrentUser,
    conversation_id: DbId,
    inbox_id: Annotated[DbId, Form()],
) -> Response:
    """Move to another inbox (an agent only to an inbox they belong to)."""
    conversation = get_conversation(session, user, conversation_id)
    if inbox_id not in {i.id for i in visible_inboxes(session, user)}:
        raise HTTPException(status_code=403, detail="You cannot move conversations to that inbox")
    if inbox_id == conversation.inbox_id:
        return _changed(request, session, user, conversation)
    try:
        actions.move(session, conversation=conversation, inbox_id=inbox_id, actor_id=user.id)
    except actions.ConversationActionError as exc:
        raise _refused(exc) from exc
    commit()
    return _changed(request, session, user, conversation)


@router.post("/{conversation_id}/notes")
def add_note(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    conversation_id: DbId,
    text: Annotated[str, Form()] = "",
) -> Response:
    """Add an internal note (it also goes in the contact's log); ``@name`` in it notifies that
    teammate (``inbox.services.mentions``)."""
    conversation = get_conversation(session, user, conversation_id)
    if not text.strip():
        raise HTTPException(status_code=422, detail="A note cannot be empty")
    note = actions.add_contact_event(
        session,
        contact=conversation.contact,
        kind=EventKind.NOTE,
        summary=text.strip()[:5000],
        conversation=conversation,
        author_id=user.id,
    )
    mentions.notify_mentions(session, conversation=conversation, text=note.summary, author=user)
    session.commit()
    return _changed(request, session, user, conversation)


@router.post("/{conversation_id}/tags")
def add_tag(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    conversation_id: DbId,
    tag: Annotated[str, Form()] = "",
) -> Response:
    """Tag the conversation (422 with the reason for a malformed tag, 409 if already tagged)."""
    conversation = get_conversation(session, user, conversation_id)
    try:
        tags.add_tag(session, conversation=conversation, tag=tag, actor_id=user.id)
    except actions.ConversationActionError as exc:
        raise _tag_refused(exc) from exc
    session.commit()
    return _changed(request, session, user, conversation)


@router.post("/{conversation_id}/tags/remove")
def remove_tag(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    conversation_id: DbId,
    tag: Annotated[str, Form()] = "",
) -> Response:
    """Remove a tag from the conversation."""
    conversation = get_conversation(session, user, conversation_id)
    try:
        tags.remove_tag(session, conversation=conversation, tag=tag, actor_id=user.id)
    except actions.ConversationActionError as exc:
        raise _tag_refused(exc) from exc
    session.commit()
    return _changed(request, session, user, conversation)


def _tag_refused(exc: actions.ConversationActionError) -> HTTPException:
    return HTTPException(status_code=422 if exc.field else 409, detail=str(exc))


@router.post("/{conversation_id}/consent")
def decide_consent(
    request: Request,
    session: SessionDep,
    commit: CommitDep,
    user: CurrentUser,
    conversation_id: DbId,
    decision: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """Decide a possible opt-out: record it (the number is opted out) or dismiss it."""
    conversation = get_conversation(session, user, conversation_id)
    if decision not in ("record", "dismiss"):
        raise HTTPException(status_code=422, detail="Choose: record the opt-out, or dismiss it")
    try:
        consent.decide_possible(
            session,
            conversation=conversation,
            actor=user,
            opt_out=decision == "record",
            note=note.strip()[:2000],
        )
    except consent.ConsentError as exc:
        raise _refused(exc) from exc
    commit()
    return _changed(request, session, user, conversation)


@router.post("/{conversation_id}/messages/{message_id}/cancel")
def cancel_held_message(
    request: Request,
    session: SessionDep,
    commit: CommitDep,
    user: CurrentUser,
    conversation_id: DbId,
    message_id: DbId,
) -> Response:
    """Cancel a held message before it goes (quiet hours, or sent later)."""
    conversation = get_conversation(session, user, conversation_id)
    message = session.get(Message, message_id)
    if message is None or message.conversation_id != conversation.id:
        raise HTTPException(status_code=404, detail="No such message in this conversation")
    try:
        cancel_held(session, message=message, actor=user)
    except OutboundBlocked as exc:
        raise _refused(exc) from exc
    commit()
    return _changed(request, session, user, conversation)


@router.post("/{conversation_id}/messages/{message_id}/reschedule")
def reschedule_message(
    request: Request,
    session: SessionDep,
    commit: CommitDep,
    user: CurrentUser,
    conversation_id: DbId,
    message_id: DbId,
    body: Annotated[str, Form()] = "",
    send_at: Annotated[str, Form()] = "",
) -> Response:
    """Change the text and time of a scheduled message before it goes."""
    conversation = get_conversation(session, user, conversation_id)
    message = session.get(Message, message_id)
    if message is None or message.conversation_id != conversation.id:
        raise HTTPException(status_code=404, detail="No such message in this conversation")
    try:
        when = scheduled.inbox_time(conversation, send_at, utcnow())
    except scheduled.ScheduleError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    try:
        scheduled.reschedule(session, message=message, body=body, send_at=when)
    except scheduled.ScheduleError as exc:
        raise _refused(exc) from exc
    commit()
    return _changed(request, session, user, conversation)


@router.post("/{conversation_id}/snooze")
def snooze_conversation(
    request: Request,
    session: SessionDep,
    commit: CommitDep,
    user: CurrentUser,
    conversation_id: DbId,
    until: Annotated[str, Form()] = "",
) -> Response:
    """Snooze until a time (the picker's time is the inbox's), ``tomorrow`` or ``reply``."""
    conversation = get_conversation(session, user, conversation_id)
    try:
        when = snooze.parse_until(conversation, until, utcnow())
    except snooze.SnoozeError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    try:
        snooze.snooze(session, conversation=conversation, until=when, actor=user)
    except snooze.SnoozeError as exc:
        raise _refused(exc) from exc
    commit()
    return _changed(request, session, user, conversation)


@router.post("/{conversation_id}/unsnooze")
def unsnooze_conversation(
    request: Request,
    session: SessionDep,
    commit: CommitDep,
    user: CurrentUser,
    conversation_id: DbId,
) -> Response:
    """End the snooze now."""
    conversation = get_conversation(session, user, conversation_id)
    try:
        snooze.unsnooze(session, conversation=conversation, actor=user)
    except snooze.SnoozeError as exc:
        raise _refused(exc) from exc
    commit()
    return _changed(request, session, user, conversation)


@router.post("/{conversation_id}/{action}")
def lifecycle(
    request: Request,
    session: SessionDep,
    commit: CommitDep,
    user: CurrentUser,
    conversation_id: DbId,
    action: str,
) -> Response:
    """Close, reopen, mark as spam, or mark unread (for this agent only)."""
    conversation = get_conversation(session, user, conversation_id)
    try:
        if action == "close":
            actions.close(session, conversation=conversation, actor_id=user.id)
        elif action == "reopen":
            actions.reopen(session, conversation=conversation, actor_id=user.id)
        elif action == "spam":
            blocklist.mark_spam(session, conversation=conversation, actor_id=user.id)
        elif action == "unread":
            mark_unread(session, user=user, conversation=conversation)
        else:
            raise HTTPException(status_code=404, detail=f"Unknown action {action!r}")
    except ValueError as exc:  # ConversationActionError, or unread on a closed conversation
        raise _refused(exc) from exc
    commit()
    if action == "unread":
        # The agent is done with it for now: leave the conversation, back to the list.
        return Response(status_code=204, headers={"HX-Redirect": "/inbox"})
    return _changed(request, session, user, conversation)
